//! One request: count it, apply the instance's outage or a matching fault, read the body
//! (bounded), run the API, log.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONNECTION, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};

use super::body::ResponseBody;
use crate::app::App;
use crate::envelope::{ApiError, Reply};
use crate::faults::Fault;
use crate::instance::{Instance, Outage};
use crate::instance_routes;
use crate::routes::{dispatch, log_template, ApiRequest};

/// Largest request body accepted; AA requests are a few KiB.
const MAX_REQUEST_BODY: usize = 1024 * 1024;

/// Lets a request reset its own connection, and the accept loop find and end it.
pub struct ConnectionControl {
    id: u64,
    socket: std::net::TcpStream,
    /// A request on it waits forever (the instance hangs): restoring the instance closes it.
    hung: AtomicBool,
}

impl ConnectionControl {
    pub fn new(id: u64, socket: std::net::TcpStream) -> ConnectionControl {
        ConnectionControl { id, socket, hung: AtomicBool::new(false) }
    }

    pub fn id(&self) -> u64 {
        self.id
    }

    /// With linger 0 the close that follows sends RST instead of FIN.
    pub fn arm_reset(&self) {
        if let Err(error) = socket2::SockRef::from(&self.socket).set_linger(Some(Duration::ZERO)) {
            log::warn!("cannot arm connection reset: {error}");
        }
    }

    pub fn mark_hung(&self) {
        self.hung.store(true, Ordering::SeqCst);
    }

    pub fn is_hung(&self) -> bool {
        self.hung.load(Ordering::SeqCst)
    }
}

/// Returned to hyper to make it drop the connection without answering.
#[derive(Debug)]
pub struct ConnectionReset;

impl std::fmt::Display for ConnectionReset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection reset by an injected fault")
    }
}

impl std::error::Error for ConnectionReset {}

pub async fn handle(
    app: Arc<App>,
    instance: Arc<Instance>,
    control: Arc<ConnectionControl>,
    request: Request<Incoming>,
) -> Result<Response<ResponseBody>, ConnectionReset> {
    let started = Instant::now();
    instance.count_request();
    if instance.outage() == Some(Outage::Hang) {
        hang_request(&instance, &control).await;
    }
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().map(str::to_owned);
    let template = log_template(&path);

    if path.starts_with("/api/") && instance.outage() == Some(Outage::Unavailable) {
        // The body is read so that the connection stays usable (keep-alive).
        let reply = match read_body(&method, &template, request.into_body()).await? {
            Ok(_) => ApiError::service_unavailable(instance.index).into_reply(),
            Err(reply) => reply,
        };
        return Ok(finish(&method, &template, started, json_response(reply)));
    }
    if instance_routes::is_instances_route(&path) {
        let body = match read_body(&method, &template, request.into_body()).await? {
            Ok(body) => body,
            Err(reply) => return Ok(finish(&method, &template, started, json_response(reply))),
        };
        let response =
            instances_route(&app, &instance, &control, &method, &path, query.as_deref(), &body).await;
        return Ok(finish(&method, &template, started, response));
    }

    let fault = app.faults.take(method.as_str(), &path);
    match fault {
        Some(Fault::ResetConnection) => {
            log::info!("{method} {template} -> connection reset (injected fault)");
            control.arm_reset();
            return Err(ConnectionReset);
        }
        Some(Fault::Delay(delay)) => tokio::time::sleep(delay).await,
        _ => {}
    }

    let host = request.headers().get(hyper::header::HOST).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body = match read_body(&method, &template, request.into_body()).await? {
        Ok(body) => body,
        Err(reply) => return Ok(finish(&method, &template, started, json_response(reply))),
    };

    let response = match fault {
        Some(Fault::Status(code)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let reply = ApiError::au_error(status.as_u16(), None, "Injected fault", None).into_reply();
            json_response(reply)
        }
        Some(Fault::MalformedJson) => {
            raw_json(ResponseBody::full(Bytes::from_static(b"{\"status\": MORE_DATA, msg: 'x'")))
        }
        Some(Fault::TruncatedJson) => raw_json(ResponseBody::full(Bytes::from_static(
            b"{\"status\": \"MORE_DATA\", \"msg\": \"Process has been sta",
        ))),
        Some(Fault::OversizedBody(size)) => raw_json(ResponseBody::oversized_json(size)),
        Some(Fault::Delay(_) | Fault::ResetConnection | Fault::Rewrite(_)) | None => {
            let mut reply = match ApiRequest::parse(method.clone(), &path, query.as_deref(), &body) {
                Ok(mut api_request) => {
                    api_request.host = host;
                    dispatch(&app, &api_request)
                }
                Err(error) => error.into_reply(),
            };
            if let (Some(Fault::Rewrite(fields)), Some(answer)) = (&fault, reply.body.as_object_mut()) {
                log::info!("{method} {template}: answer rewritten (injected fault)");
                answer.extend(fields.clone());
            }
            json_response(reply)
        }
    };
    Ok(finish(&method, &template, started, response))
}

/// `/sim/v1/instances…`, which may take this very connection's instance down.
async fn instances_route(
    app: &App,
    instance: &Instance,
    control: &ConnectionControl,
    method: &Method,
    path: &str,
    query: Option<&str>,
    body: &[u8],
) -> Response<ResponseBody> {
    let answer = match ApiRequest::parse(method.clone(), path, query, body) {
        Ok(request) => instance_routes::route(app, instance, control.id(), &request).await,
        Err(error) => instance_routes::Answer::reply(error.into_reply()),
    };
    let mut response = json_response(answer.reply);
    if answer.close_connection {
        // This connection's instance just went down; hyper closes it after the answer.
        response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Never answers while the instance hangs; its connection is closed when the instance is
/// restored. Returns only when the hang ended before this request could be held.
async fn hang_request(instance: &Instance, control: &ConnectionControl) {
    // Marked before the outage is checked again, while the accept loop records the new outage
    // before it collects the hung connections: either this request sees the hang is over, or the
    // loop sees the mark and closes the connection.
    control.mark_hung();
    if instance.outage() == Some(Outage::Hang) {
        std::future::pending::<()>().await;
    }
    control.hung.store(false, Ordering::SeqCst);
}

/// The whole request body, or the 413 answer to one over the limit; a body that does not arrive
/// drops the connection.
async fn read_body(
    method: &Method,
    template: &str,
    body: Incoming,
) -> Result<Result<Bytes, Reply>, ConnectionReset> {
    match Limited::new(body, MAX_REQUEST_BODY).collect().await {
        Ok(collected) => Ok(Ok(collected.to_bytes())),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            Ok(Err(ApiError::body_too_large(MAX_REQUEST_BODY).into_reply()))
        }
        Err(error) => {
            log::debug!("{method} {template}: request body not received: {error}");
            Err(ConnectionReset)
        }
    }
}

fn finish(
    method: &hyper::Method,
    template: &str,
    started: Instant,
    response: Response<ResponseBody>,
) -> Response<ResponseBody> {
    log::info!(
        "{method} {template} -> {} ({} µs)",
        response.status().as_u16(),
        started.elapsed().as_micros()
    );
    response
}

fn json_response(reply: Reply) -> Response<ResponseBody> {
    let bytes = serde_json::to_vec(&reply.body).unwrap_or_else(|_| b"null".to_vec());
    let mut response = raw_json(ResponseBody::full(bytes));
    *response.status_mut() = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response
}

fn raw_json(body: ResponseBody) -> Response<ResponseBody> {
    let mut response = Response::new(body);
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
