//! The testkit's virtual key as a bridge endpoint.

use std::time::Duration;

use aa_virtual_key::VirtualKey;

use crate::endpoint::{Endpoint, EndpointGone, Report};

impl Endpoint for VirtualKey {
    fn host_to_device(&self, report: &Report) -> Result<(), EndpointGone> {
        self.write_report(report).map_err(|_| EndpointGone)
    }

    fn device_to_host(&self, timeout: Duration) -> Result<Option<Report>, EndpointGone> {
        self.read_report(timeout).map_err(|_| EndpointGone)
    }
}
