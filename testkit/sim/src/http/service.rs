//! One request: count it, apply a matching fault, read the body (bounded), run the API, log.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Request, Response, StatusCode};

use super::body::ResponseBody;
use crate::app::App;
use crate::envelope::{ApiError, Reply};
use crate::faults::Fault;
use crate::routes::{dispatch, log_template, ApiRequest};

/// Largest request body accepted; AA requests are a few KiB.
const MAX_REQUEST_BODY: usize = 1024 * 1024;

/// Lets a request reset its own connection.
pub struct ConnectionControl {
    socket: std::net::TcpStream,
}

impl ConnectionControl {
    pub fn new(socket: std::net::TcpStream) -> ConnectionControl {
        ConnectionControl { socket }
    }

    /// With linger 0 the close that follows sends RST instead of FIN.
    fn arm_reset(&self) {
        if let Err(error) = socket2::SockRef::from(&self.socket).set_linger(Some(Duration::ZERO)) {
            log::warn!("cannot arm connection reset: {error}");
        }
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
    control: Arc<ConnectionControl>,
    request: Request<Incoming>,
) -> Result<Response<ResponseBody>, ConnectionReset> {
    let started = Instant::now();
    app.requests.fetch_add(1, Ordering::Relaxed);
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().map(str::to_owned);
    let template = log_template(&path);

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
    let body = match Limited::new(request.into_body(), MAX_REQUEST_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            let reply = ApiError::body_too_large(MAX_REQUEST_BODY).into_reply();
            return Ok(finish(&method, &template, started, json_response(reply)));
        }
        Err(error) => {
            log::debug!("{method} {template}: request body not received: {error}");
            return Err(ConnectionReset);
        }
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
