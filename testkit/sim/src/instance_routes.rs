//! `/sim/v1/instances…`: the cluster's instances, their outages and counters, for tests in any
//! language. Served by every instance that is up, also about itself: an instance that takes
//! itself down (refuse, reset) answers first, then closes the connection that asked.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::app::App;
use crate::envelope::{ApiError, Reply};
use crate::instance::{Instance, Outage};
use crate::routes::ApiRequest;
use crate::sim_routes::parse_body;

/// A route's reply and whether the connection that asked must close after it.
pub struct Answer {
    pub reply: Reply,
    pub close_connection: bool,
}

impl Answer {
    pub fn reply(reply: Reply) -> Answer {
        Answer { reply, close_connection: false }
    }
}

pub fn is_instances_route(path: &str) -> bool {
    let path = path.trim_end_matches('/');
    path == "/sim/v1/instances" || path.starts_with("/sim/v1/instances/")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OutageSpec {
    kind: String,
}

/// `serving` is the instance this request came to, `connection` the connection it came on.
pub async fn route(app: &App, serving: &Instance, connection: u64, request: &ApiRequest) -> Answer {
    let segments: Vec<&str> = request.path.trim_matches('/').split('/').collect();
    let rest = segments.get(3..).unwrap_or_default();
    let method = request.method.as_str();
    let result = match (rest, method) {
        ([], "GET") => Ok(Reply::ok(Value::Array(app.instances.iter().map(|i| instance_json(i)).collect()))),
        (["reset_peak"], "POST") => {
            app.instances.iter().for_each(|instance| instance.reset_peak_open_connections());
            Ok(Reply::ok(json!({ "status": "ok" })))
        }
        ([index], "GET") => find(app, index).map(|instance| Reply::ok(instance_json(instance))),
        ([index, "reset_peak"], "POST") => find(app, index).map(|instance| {
            instance.reset_peak_open_connections();
            ok_with(instance)
        }),
        ([index, "outage"], "POST") => match find(app, index) {
            Ok(instance) => return set_outage(serving, connection, instance, request).await,
            Err(error) => Err(error),
        },
        ([index, "outage"], "DELETE") => match find(app, index) {
            Ok(instance) => instance
                .change_outage(None, None)
                .await
                .map(|()| ok_with(instance))
                .map_err(|error| ApiError::au_error(500, None, error.to_string(), None)),
            Err(error) => Err(error),
        },
        ([] | ["reset_peak"] | [_] | [_, "reset_peak" | "outage"], _) => Err(ApiError::method_not_allowed()),
        _ => Err(ApiError::route_not_found()),
    };
    Answer::reply(result.unwrap_or_else(ApiError::into_reply))
}

async fn set_outage(
    serving: &Instance,
    connection: u64,
    instance: &Instance,
    request: &ApiRequest,
) -> Answer {
    let outage = match parse_body::<OutageSpec>(request).and_then(|spec| {
        Outage::from_name(&spec.kind)
            .ok_or_else(|| ApiError::field("body", "kind", "Must be refuse, reset, unavailable or hang"))
    }) {
        Ok(outage) => outage,
        Err(error) => return Answer::reply(error.into_reply()),
    };
    // Taking its own instance away: this connection is spared, answered, then closed.
    let own_connection_goes =
        instance.index == serving.index && matches!(outage, Outage::Refuse | Outage::Reset);
    let spare = own_connection_goes.then_some(connection);
    match instance.change_outage(Some(outage), spare).await {
        Ok(()) => Answer { reply: ok_with(instance), close_connection: own_connection_goes },
        Err(error) => Answer::reply(ApiError::au_error(500, None, error.to_string(), None).into_reply()),
    }
}

fn find<'a>(app: &'a App, index: &str) -> Result<&'a Instance, ApiError> {
    index.parse::<usize>().ok().and_then(|index| app.instances.get(index)).map(|i| &**i).ok_or_else(|| {
        ApiError::not_found(
            "instance",
            format!("No instance {index:?}: the cluster has instances 0 to {}", app.instances.len() - 1),
        )
    })
}

fn ok_with(instance: &Instance) -> Reply {
    Reply::ok(json!({ "status": "ok", "instance": instance_json(instance) }))
}

fn instance_json(instance: &Instance) -> Value {
    let stats = instance.stats();
    json!({
        "index": instance.index,
        "base_url": instance.base_url,
        "outage": instance.outage().map(Outage::name),
        "connections_accepted": stats.connections_accepted,
        "requests": stats.requests,
        "open_connections": stats.open_connections,
        "peak_open_connections": stats.peak_open_connections,
    })
}
