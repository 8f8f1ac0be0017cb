//! [`OfferitApi`]: the HTTP client of one Offerit install: base URL, the `api-key` and
//! `api-username` headers, form bodies, the envelope, retries that cannot duplicate,
//! and typed errors.
//!
//! Requests go to `{base}/api/<endpoint>/<action>` (offerit-api-facts.md section 2).
//! Creates are POST, edits PATCH, bodies are PHP forms ([`Form`]) for both.
//!
//! Retries are the Everflow client's, the same loop and policy ([`crate::http::retry`]):
//! Offerit documents no idempotency keys, so a POST create (`add_offer`,
//! `add_landing_page`) is sent again only when it certainly never reached the server
//! (the connection could not be made) or was refused with 429 before anything
//! happened. After a timeout, a cut connection or a 5xx it may have created the offer,
//! so the error is returned and [`OfferitError::may_have_taken_effect`] says so:
//! whoever called knows whether it is safe to look and try again, the client does not. The PATCH calls set values to what
//! the form says (`edit_*`, `pause_offer`, `activate_offer`, `set_offer_goals`), so
//! sending one twice does no harm and they are retried on transport errors, 429 and
//! 5xx with capped backoff. Offerit documents no rate limits, so there is no pacing.
//!
//! An answer is an error when its HTTP status is not 2xx or its `result` is not
//! `success` (any case): the docs show both `200 + {"result":"error"}`-style and
//! status-coded failures are possible. Errors carry the method, the path, the status
//! and the envelope's message on one line; never the key or the username, which travel
//! only in headers, and which are masked if a server echoes them back.

use std::fmt;
use std::time::Duration;

use reqwest::Method;
use url::Url;

use super::envelope::Envelope;
use super::form::{Form, FormValue};
use crate::http::retry::{self, Failure, Retry, RetryOptions, Retryable};
use crate::http::{BodyError, describe_transport};
use crate::secret::{Redactor, Secret};

/// Tunables of an [`OfferitApi`].
#[derive(Clone, Debug)]
pub struct OfferitOptions {
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub retry: RetryOptions,
    /// Answers larger than this are refused (an envelope is a few hundred bytes).
    pub max_body_bytes: usize,
}

impl Default for OfferitOptions {
    fn default() -> Self {
        OfferitOptions {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            retry: RetryOptions::default(),
            max_body_bytes: 4 * 1024 * 1024,
        }
    }
}

/// What went wrong with an Offerit call.
#[derive(Debug, Clone, thiserror::Error)]
pub enum OfferitError {
    /// The base URL cannot be used (not https, credentials in it, ...).
    #[error("Offerit URL {0}")]
    BaseUrl(String),
    /// The call cannot be sent as asked (nothing went out).
    #[error("{method} {path}: {detail}")]
    Request {
        method: Method,
        path: String,
        detail: String,
    },
    /// Offerit answered with an envelope whose `result` is not `success`.
    #[error("{method} {path}: Offerit refused it (HTTP {status}, result `{result}`): {message}")]
    Rejected {
        method: Method,
        path: String,
        status: u16,
        result: String,
        message: String,
    },
    /// A non-success HTTP status without an error envelope (a proxy's page, say).
    #[error("{method} {path}: HTTP {status}: {message}")]
    Status {
        method: Method,
        path: String,
        status: u16,
        message: String,
    },
    /// No (complete) answer: connection refused, reset, timed out.
    #[error("{method} {path}: {reason}")]
    Transport {
        method: Method,
        path: String,
        reason: String,
        /// Whether the server may have received and acted on the request.
        maybe_delivered: bool,
    },
    /// A success status whose answer is not the envelope expected.
    #[error("{method} {path}: unexpected response: {detail}")]
    Decode {
        method: Method,
        path: String,
        detail: String,
    },
}

impl OfferitError {
    /// The HTTP status of an answer, if one came.
    pub fn status(&self) -> Option<u16> {
        match self {
            OfferitError::Rejected { status, .. } | OfferitError::Status { status, .. } => {
                Some(*status)
            }
            _ => None,
        }
    }

    /// The envelope's message of a refusal (`name is required`).
    pub fn rejection(&self) -> Option<&str> {
        match self {
            OfferitError::Rejected { message, .. } => Some(message),
            _ => None,
        }
    }

    /// Whether a write that failed this way may still have taken effect: the request
    /// went out and no clear answer came back (a lost response, a success whose body
    /// cannot be read, a server error that may have come after the write).
    pub fn may_have_taken_effect(&self) -> bool {
        match self {
            OfferitError::Transport {
                maybe_delivered, ..
            } => *maybe_delivered,
            OfferitError::Status { status, .. } | OfferitError::Rejected { status, .. } => {
                *status >= 500
            }
            OfferitError::Decode { .. } => true,
            OfferitError::BaseUrl(_) | OfferitError::Request { .. } => false,
        }
    }
}

impl Retryable for OfferitError {
    fn status(&self) -> Option<u16> {
        OfferitError::status(self)
    }

    fn maybe_delivered(&self) -> Option<bool> {
        match self {
            OfferitError::Transport {
                maybe_delivered, ..
            } => Some(*maybe_delivered),
            _ => None,
        }
    }
}

/// What `add_offer` created: the offer and its default landing page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OfferCreated {
    pub offer_id: u64,
    pub landing_page_id: u64,
}

/// Parses an install's base URL (`OFFERIT_URL`): https anywhere, plain http only to
/// loopback, so the key never crosses a network in clear text (as `EVERFLOW_API_URL`).
/// A trailing `/api` is accepted and dropped: the docs write URLs as
/// `http://domain/api/<endpoint>/<action>`, and someone copying one keeps it.
pub fn parse_base_url(text: &str) -> Result<Url, String> {
    crate::http::parse_base_url(text, "/api")
}

/// The body of `set_offer_goals`: `offerid` and one `goal_vars[i][...]` map per goal,
/// in order.
pub fn goals_form(offer_id: u64, goals: &[Form]) -> Form {
    let vars = goals
        .iter()
        .map(|goal| {
            FormValue::Map(
                goal.iter()
                    .map(|(name, value)| (name.to_owned(), value.clone()))
                    .collect(),
            )
        })
        .collect();
    Form::new()
        .with("offerid", offer_id)
        .with("goal_vars", FormValue::List(vars))
}

/// A client of one Offerit install, bound to one admin's key and username.
#[derive(Clone)]
pub struct OfferitApi {
    http: reqwest::Client,
    base: Url,
    key: Secret,
    username: Secret,
    options: OfferitOptions,
    redactor: Redactor,
}

impl fmt::Debug for OfferitApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OfferitApi")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

impl OfferitApi {
    /// A client for the install at `base` (see [`parse_base_url`] for what is allowed).
    pub fn new(
        base: &Url,
        key: Secret,
        username: Secret,
        options: OfferitOptions,
    ) -> Result<OfferitApi, OfferitError> {
        let base = parse_base_url(base.as_str()).map_err(OfferitError::BaseUrl)?;
        let http = crate::http::api_client(options.connect_timeout, options.request_timeout);
        Ok(OfferitApi {
            http,
            base,
            redactor: Redactor::new([key.clone(), username.clone()]),
            key,
            username,
            options,
        })
    }

    /// The install's base URL (without `/api`).
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// `POST /api/offer/add_offer`: creates an offer and its default landing page from
    /// `form` (at least `name` and `url`, seed 003). Not retried once it may have
    /// reached the server (module docs).
    pub async fn add_offer(&self, form: &Form) -> Result<OfferCreated, OfferitError> {
        let (method, path) = (Method::POST, "offer/add_offer");
        let envelope = self
            .call(method.clone(), path, form, Retry::OnlyIfUndelivered)
            .await?;
        let offer_id = self.id(&method, path, &envelope, "offerid")?;
        let landing_page_id = self.id(&method, path, &envelope, "landing_pageid")?;
        Ok(OfferCreated {
            offer_id,
            landing_page_id,
        })
    }

    /// `PATCH /api/offer/edit_offer`: sets the fields of `form` on offer `offer_id`.
    pub async fn edit_offer(&self, offer_id: u64, form: &Form) -> Result<(), OfferitError> {
        let (method, path) = (Method::PATCH, "offer/edit_offer");
        let body = with_id(&method, path, "offerid", offer_id, form)?;
        self.call(method, path, &body, Retry::Idempotent).await?;
        Ok(())
    }

    /// `POST /api/offer/add_landing_page`: adds a landing page (`form` holds at least
    /// `name` and `url`) to offer `offer_id` and returns its id.
    ///
    /// Its answer was not retrieved (offerit-api-facts.md section 6); this reads
    /// `landing_pageid` from the message, as add_offer's answer names it (inferred).
    pub async fn add_landing_page(&self, offer_id: u64, form: &Form) -> Result<u64, OfferitError> {
        let (method, path) = (Method::POST, "offer/add_landing_page");
        let body = with_id(&method, path, "offerid", offer_id, form)?;
        let envelope = self
            .call(method.clone(), path, &body, Retry::OnlyIfUndelivered)
            .await?;
        self.id(&method, path, &envelope, "landing_pageid")
    }

    /// `PATCH /api/offer/edit_landing_page`: sets the fields of `form` on a landing page.
    pub async fn edit_landing_page(
        &self,
        landing_page_id: u64,
        form: &Form,
    ) -> Result<(), OfferitError> {
        let (method, path) = (Method::PATCH, "offer/edit_landing_page");
        let body = with_id(&method, path, "landing_pageid", landing_page_id, form)?;
        self.call(method, path, &body, Retry::Idempotent).await?;
        Ok(())
    }

    /// `PATCH /api/offer/pause_offer` with only `offerid`: the offer expires now (a
    /// blank `date_expire` means now). Offerit answers `Offer expired.`.
    pub async fn pause_offer(&self, offer_id: u64) -> Result<(), OfferitError> {
        let form = Form::new().with("offerid", offer_id);
        self.call(Method::PATCH, "offer/pause_offer", &form, Retry::Idempotent)
            .await?;
        Ok(())
    }

    /// `PATCH /api/offer/activate_offer`: makes a paused offer live again.
    pub async fn activate_offer(&self, offer_id: u64) -> Result<(), OfferitError> {
        let form = Form::new().with("offerid", offer_id);
        self.call(
            Method::PATCH,
            "offer/activate_offer",
            &form,
            Retry::Idempotent,
        )
        .await?;
        Ok(())
    }

    /// `PATCH /api/offer/set_offer_goals`: `goals` become `goal_vars[i][...]`, one form
    /// per goal (`goal_id` or `offer_goal_id`, `commission_type`, `amount`, ...), in
    /// order. An empty list cannot be sent: a PHP form leaves an empty array out, and
    /// `goal_vars` is required.
    pub async fn set_offer_goals(&self, offer_id: u64, goals: &[Form]) -> Result<(), OfferitError> {
        let (method, path) = (Method::PATCH, "offer/set_offer_goals");
        if goals.is_empty() {
            return Err(request_error(
                &method,
                path,
                "no goals to set: an empty `goal_vars` cannot be sent in a form".to_owned(),
            ));
        }
        let body = goals_form(offer_id, goals);
        self.call(method, path, &body, Retry::Idempotent).await?;
        Ok(())
    }

    /// A positive id from a success envelope's message.
    fn id(
        &self,
        method: &Method,
        path: &str,
        envelope: &Envelope,
        key: &str,
    ) -> Result<u64, OfferitError> {
        envelope.id(key).map_err(|detail| OfferitError::Decode {
            method: method.clone(),
            path: api_path(path),
            detail: self.redactor.redact(&detail),
        })
    }

    /// Sends `form` to `/api/{endpoint_action}`, retrying as `retry` allows (PATCH that
    /// sets values: [`Retry::Idempotent`]; POST create: [`Retry::OnlyIfUndelivered`]),
    /// and returns the success envelope.
    async fn call(
        &self,
        method: Method,
        endpoint_action: &str,
        form: &Form,
        retry: Retry,
    ) -> Result<Envelope, OfferitError> {
        let path = api_path(endpoint_action);
        let url = self.url(&path);
        let body = form.encode();
        retry::send(&self.options.retry, retry, &method, &path, || {
            self.attempt(&method, &url, &path, &body)
        })
        .await
    }

    async fn attempt(
        &self,
        method: &Method,
        url: &Url,
        path: &str,
        body: &str,
    ) -> Result<Envelope, Failure<OfferitError>> {
        let request = self
            .http
            .request(method.clone(), url.clone())
            .header("api-key", self.key.expose())
            .header("api-username", self.username.expose())
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body.to_owned());
        let transport = |error: reqwest::Error| OfferitError::Transport {
            method: method.clone(),
            path: path.to_owned(),
            reason: self.redactor.redact(&describe_transport(&error)),
            // A failed connect never sent anything; anything later may have been acted on.
            maybe_delivered: !error.is_connect(),
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let retry_after = retry::retry_after(response.headers());
        let bytes = crate::http::read_body(response, self.options.max_body_bytes)
            .await
            .map_err(|error| match error {
                BodyError::Transport(error) => transport(error),
                BodyError::TooLarge(detail) => OfferitError::Decode {
                    method: method.clone(),
                    path: path.to_owned(),
                    detail,
                },
            })?;
        let parsed = Envelope::parse(&bytes);
        let error = match parsed {
            Ok(envelope) if status.is_success() && envelope.is_success() => return Ok(envelope),
            Ok(envelope) if !envelope.is_success() => OfferitError::Rejected {
                method: method.clone(),
                path: path.to_owned(),
                status: status.as_u16(),
                result: self.shown(&envelope.result, 40),
                message: self.shown(&envelope.message(), 300),
            },
            // A success envelope with an error status: trust the status.
            Ok(envelope) => OfferitError::Status {
                method: method.clone(),
                path: path.to_owned(),
                status: status.as_u16(),
                message: self.shown(&envelope.message(), 300),
            },
            Err(detail) if status.is_success() => OfferitError::Decode {
                method: method.clone(),
                path: path.to_owned(),
                detail: format!("{}: {}", self.shown(&detail, 200), self.excerpt(&bytes)),
            },
            Err(_) => OfferitError::Status {
                method: method.clone(),
                path: path.to_owned(),
                status: status.as_u16(),
                message: if bytes.iter().all(u8::is_ascii_whitespace) {
                    status
                        .canonical_reason()
                        .unwrap_or("no response body")
                        .to_owned()
                } else {
                    self.excerpt(&bytes)
                },
            },
        };
        Err(Failure { error, retry_after })
    }

    /// Outside text on one line, at most `max_chars`, with secrets masked first (so a
    /// cut never leaves part of a secret that no longer matches).
    fn shown(&self, text: &str, max_chars: usize) -> String {
        crate::text::one_line(&self.redactor.redact(text), max_chars)
    }

    /// The start of a body that is not an envelope, on one line, in backticks.
    fn excerpt(&self, body: &[u8]) -> String {
        let text = String::from_utf8_lossy(&body[..body.len().min(600)]);
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        format!("`{}`", self.shown(&flat, 200))
    }

    fn url(&self, path: &str) -> Url {
        crate::http::join(&self.base, path)
    }
}

/// `/api/offer/add_offer` for `offer/add_offer`.
fn api_path(endpoint_action: &str) -> String {
    format!("/api/{endpoint_action}")
}

fn request_error(method: &Method, endpoint_action: &str, detail: String) -> OfferitError {
    OfferitError::Request {
        method: method.clone(),
        path: api_path(endpoint_action),
        detail,
    }
}

/// `form` with `id_field = id` first. The form must not set the id itself: the call's
/// argument is the one that counts, and a form never names a field twice.
fn with_id(
    method: &Method,
    endpoint_action: &str,
    id_field: &str,
    id: u64,
    form: &Form,
) -> Result<Form, OfferitError> {
    if form.contains(id_field) {
        return Err(request_error(
            method,
            endpoint_action,
            format!("the form sets `{id_field}`, which the call sets from its argument"),
        ));
    }
    let mut body = Form::new().with(id_field, id);
    for (name, value) in form.iter() {
        body.set(name, value.clone());
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_follow_the_everflow_rule_and_drop_api() {
        assert_eq!(
            parse_base_url("https://net.trackfinity.com/api/")
                .unwrap()
                .as_str(),
            "https://net.trackfinity.com/"
        );
        assert_eq!(
            parse_base_url("http://127.0.0.1:8080").unwrap().as_str(),
            "http://127.0.0.1:8080/"
        );
        assert!(parse_base_url("http://localhost/x/api").is_ok());
        let plain = parse_base_url("http://net.trackfinity.com").unwrap_err();
        assert!(plain.contains("only to loopback"), "{plain}");
        assert!(parse_base_url("https://u:p@x.test").is_err());
        assert!(parse_base_url("ftp://x.test").is_err());
        assert!(parse_base_url("x.test").is_err());
    }

    #[test]
    fn new_refuses_plain_http_to_another_host() {
        let url = Url::parse("http://offers.example.com").unwrap();
        let error = OfferitApi::new(
            &url,
            Secret::new("key-1234"),
            Secret::new("admin-user"),
            OfferitOptions::default(),
        )
        .unwrap_err();
        assert!(error.to_string().starts_with("Offerit URL uses plain http"));
    }

    #[test]
    fn debug_shows_neither_key_nor_username() {
        let api = OfferitApi::new(
            &Url::parse("http://127.0.0.1:9/base/api").unwrap(),
            Secret::new("the-secret-key"),
            Secret::new("the-admin-name"),
            OfferitOptions::default(),
        )
        .unwrap();
        let debug = format!("{api:?}");
        assert!(!debug.contains("the-secret-key") && !debug.contains("the-admin-name"));
        assert_eq!(
            api.url("/api/offer/add_offer").as_str(),
            "http://127.0.0.1:9/base/api/offer/add_offer"
        );
    }

    #[test]
    fn creates_are_retried_only_when_certainly_undelivered() {
        let transport = |maybe_delivered| OfferitError::Transport {
            method: Method::POST,
            path: "/api/offer/add_offer".into(),
            reason: "x".into(),
            maybe_delivered,
        };
        let rejected = |status| OfferitError::Rejected {
            method: Method::POST,
            path: "/api/offer/add_offer".into(),
            status,
            result: "error".into(),
            message: String::new(),
        };
        let status = |status| OfferitError::Status {
            method: Method::POST,
            path: "/api/offer/add_offer".into(),
            status,
            message: String::new(),
        };
        let decode = OfferitError::Decode {
            method: Method::POST,
            path: "/api/offer/add_offer".into(),
            detail: String::new(),
        };
        assert!(Retry::OnlyIfUndelivered.allows(&transport(false)));
        assert!(!Retry::OnlyIfUndelivered.allows(&transport(true)));
        assert!(!Retry::OnlyIfUndelivered.allows(&status(500)));
        assert!(!Retry::OnlyIfUndelivered.allows(&decode));
        assert!(Retry::OnlyIfUndelivered.allows(&status(429)));
        assert!(Retry::Idempotent.allows(&transport(true)));
        assert!(Retry::Idempotent.allows(&status(503)));
        assert!(Retry::Idempotent.allows(&rejected(500)));
        assert!(!Retry::Idempotent.allows(&rejected(400)));
        assert!(!Retry::Idempotent.allows(&rejected(200)));
        assert!(!Retry::Idempotent.allows(&decode));
        assert!(transport(true).may_have_taken_effect());
        assert!(!transport(false).may_have_taken_effect());
        assert!(decode.may_have_taken_effect());
        assert!(!rejected(400).may_have_taken_effect());
    }

    #[test]
    fn an_id_field_in_the_form_is_refused() {
        let form = Form::new().with("offerid", 9u64).with("name", "x");
        let error = with_id(&Method::PATCH, "offer/edit_offer", "offerid", 400, &form).unwrap_err();
        assert_eq!(
            error.to_string(),
            "PATCH /api/offer/edit_offer: the form sets `offerid`, which the call sets from its argument"
        );
        let form = Form::new().with("name", "x").with("hidden", true);
        let body = with_id(&Method::PATCH, "offer/edit_offer", "offerid", 400, &form).unwrap();
        assert_eq!(body.encode(), "offerid=400&name=x&hidden=1");
    }
}
