//! What `POST /graphql` accepts and how it answers, per GraphQL over HTTP.
//!
//! Only `application/json` bodies are executed: `text/plain`, form and multipart bodies are what
//! a browser sends cross-site without a CORS preflight, so accepting them would let any web page
//! run mutations with a visitor's credentials. Anything else is refused with 415 before the body
//! is read. A body that is not a GraphQL request is refused with 400 and a message of ours:
//! never the parser's, which names Rust types.

use async_graphql::ParseRequestError;
use async_graphql_axum::GraphQLRequest;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The only media type of a request body that is executed.
const JSON: &str = "application/json";
/// The media type GraphQL over HTTP defines for responses, used when the client accepts it.
const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

/// A GraphQL request that arrived as an `application/json` body.
pub struct JsonGraphqlRequest(pub async_graphql::Request);

impl<S: Send + Sync> FromRequest<S> for JsonGraphqlRequest {
    type Rejection = Refusal;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(Refusal::UnsupportedMediaType);
        }
        let request = GraphQLRequest::<Refusal>::from_request(req, state)
            .await?
            .into_inner();
        // `query` defaults to empty when absent: `{"nope": 1}` is no request either, unless it
        // names a persisted query by its hash.
        if request.query.trim().is_empty() && !request.extensions.contains_key("persistedQuery") {
            return Err(Refusal::NotAGraphqlRequest);
        }
        Ok(Self(request))
    }
}

/// Whether a `GET /graphql` query string carries a GraphQL request (a `query`, or the
/// `extensions` of a persisted query) rather than asking for the GraphiQL page.
pub fn names_an_operation(query_string: &str) -> bool {
    query_string
        .split('&')
        .filter_map(|pair| pair.split('=').next())
        .any(|name| name == "query" || name == "extensions")
}

/// Whether the body is declared `application/json` (parameters such as `charset` allowed).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case(JSON))
}

/// Why a request to `/graphql` was not executed.
#[derive(Debug)]
pub enum Refusal {
    UnsupportedMediaType,
    PayloadTooLarge,
    Batch,
    NotAGraphqlRequest,
}

impl From<ParseRequestError> for Refusal {
    fn from(e: ParseRequestError) -> Self {
        match e {
            ParseRequestError::PayloadTooLarge => Refusal::PayloadTooLarge,
            // A chunked body cut off by the body limit surfaces as a read error.
            ParseRequestError::Io(e) if e.to_string().contains("length limit exceeded") => {
                Refusal::PayloadTooLarge
            }
            ParseRequestError::UnsupportedBatch => Refusal::Batch,
            _ => Refusal::NotAGraphqlRequest,
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (status, code, message) = match self {
            Refusal::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UNSUPPORTED_MEDIA_TYPE",
                "send the GraphQL request as a JSON body with Content-Type: application/json",
            ),
            Refusal::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
                "the request body is larger than this server accepts",
            ),
            Refusal::Batch => (
                StatusCode::BAD_REQUEST,
                "BAD_USER_INPUT",
                "batched requests are not supported: send one JSON object with a `query` string",
            ),
            Refusal::NotAGraphqlRequest => (
                StatusCode::BAD_REQUEST,
                "BAD_USER_INPUT",
                "the request body is not a GraphQL request: expected a JSON object with a \
                 `query` string",
            ),
        };
        let body = json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
        (status, axum::Json(body)).into_response()
    }
}

/// Sets the response's media type to what the client accepts: `application/graphql-response+json`
/// when its `Accept` names it, `application/json` otherwise (what older clients understand).
pub fn negotiate(request: &HeaderMap, mut response: Response) -> Response {
    let media_type = if accepts_graphql_response_json(request) {
        GRAPHQL_RESPONSE_JSON
    } else {
        JSON
    };
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    response
}

fn accepts_graphql_response_json(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|range| {
            let mut parts = range.split(';').map(str::trim);
            let essence = parts.next().unwrap_or_default();
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            essence.eq_ignore_ascii_case(GRAPHQL_RESPONSE_JSON) && !refused
        })
}
