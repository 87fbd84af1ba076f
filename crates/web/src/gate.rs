//! The one place where access is enforced. Every route carries a [`Gate`]; this
//! middleware establishes who is calling (session cookie for pages, bearer token for
//! the API), checks the second factor, asks `collabo_domain::authz::decide` with the
//! employer named in the path as the scope, and checks the form's CSRF token. Handlers
//! only read the [`Identity`] it leaves in the request.
//!
//! Every form post (the login form too) must also come from the portal's own pages:
//! a browser's `Sec-Fetch-Site` must say `same-origin` and its `Origin`, when sent,
//! must be the portal's ([`same_origin`]). The token alone would do; the check is a
//! second lock that needs no state.
//!
//! A denied employer-scoped request from an employer contact answers 404, exactly like
//! a missing employer, so codes of other employers cannot be probed.

use crate::AppState;
use crate::auth::{self, Identity, SESSION_COOKIE};
use crate::client::ClientAddr;
use crate::error::WebError;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use collabo_app::accounts::SessionStage;
use collabo_domain::authz::{self, Access, Action, Role, Scope};
use collabo_domain::ids::EmployerCode;

/// What a route requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Anyone (login page, health, metrics, OpenAPI document).
    Public,
    /// A session that has passed the password (second factor may be pending).
    Session,
    /// A fully logged-in user of any role.
    LoggedIn,
    /// A fully logged-in user allowed this action by the permission table.
    Can(Action),
}

/// Per-route context of the gate.
#[derive(Clone)]
pub struct GateContext {
    /// Application state.
    pub state: AppState,
    /// What the route requires.
    pub gate: Gate,
    /// The route pattern, e.g. `/employer/{employer}/aggregates`.
    pub path: &'static str,
    /// An API route (bearer token, JSON errors, no CSRF).
    pub api: bool,
}

/// The decision for an allowed request, left in the request for the handler
/// (`AllowSuppressed` tells aggregate handlers to suppress small cells).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Granted(pub Access);

/// The client address (see [`crate::client`]: the peer, or the client behind a
/// trusted proxy).
pub fn origin_of(req: &Request) -> String {
    req.extensions()
        .get::<ClientAddr>()
        .map_or_else(|| "unknown".to_owned(), |c| c.0.clone())
}

/// Whether a form post comes from the portal's own pages, by the headers browsers
/// add: `Sec-Fetch-Site` (when sent) must be `same-origin` (or `none`, a request the
/// user made directly), and `Origin` (when sent and not `null`) must be
/// `public_origin`, or without that setting name the host of the `Host` header.
/// `Origin: null` is what browsers send for the portal's own forms under
/// `Referrer-Policy: no-referrer`, so it decides nothing; a cross-site post then shows
/// in `Sec-Fetch-Site`, and a browser too old to send that is left to the form token,
/// as is a client that sends neither (not a browser).
pub fn same_origin(headers: &HeaderMap, public_origin: Option<&str>) -> bool {
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text(header::HeaderName::from_static("sec-fetch-site"))
        && !matches!(site.trim(), "same-origin" | "none")
    {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let origin = origin.trim().trim_end_matches('/');
    if origin == "null" {
        return true;
    }
    if let Some(expected) = public_origin {
        return origin.eq_ignore_ascii_case(expected.trim_end_matches('/'));
    }
    let Some(host) = text(header::HOST) else {
        return false;
    };
    origin.split_once("://").is_some_and(|(scheme, rest)| {
        matches!(scheme, "http" | "https") && rest.eq_ignore_ascii_case(host.trim())
    })
}

fn fail(api: bool, e: WebError) -> Response {
    if api {
        e.into_json_response()
    } else {
        e.into_response()
    }
}

/// The employer named by the `{employer}` segment of the route pattern.
pub fn employer_in_path(pattern: &str, path: &str) -> Option<String> {
    let index = pattern.split('/').position(|s| s == "{employer}")?;
    path.split('/').nth(index).map(|s| s.to_owned())
}

async fn identify(
    ctx: &GateContext,
    headers: &axum::http::HeaderMap,
    origin: String,
) -> Result<Option<Identity>, WebError> {
    let app = &ctx.state.app;
    let now = ctx.state.now();
    if ctx.api {
        let Some(token) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        else {
            return Ok(None);
        };
        let Some(user) = app.token_user(token, now).await? else {
            return Ok(None);
        };
        return Ok(Some(Identity {
            username: user.username,
            display_name: user.display_name,
            role: user.role,
            session: None,
            origin,
            now,
        }));
    }
    let Some(id) = auth::cookie_value(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let Some((session, user)) = app.session(&id, now).await? else {
        return Ok(None);
    };
    Ok(Some(Identity {
        username: user.username,
        display_name: user.display_name,
        role: user.role,
        session: Some(session),
        origin,
        now,
    }))
}

/// Reads a form body, checks its `_csrf` field against the session, and puts the body
/// back for the handler.
///
/// A multipart body (an upload, possibly of gigabytes) is not buffered: only its first
/// [`MULTIPART_HEAD`] bytes are read (the form puts `_csrf` first), and the handler gets
/// those bytes followed by the rest of the stream, so a claims file goes to disk as it
/// arrives. The body limit of a multipart route is then the handler's extractor's.
async fn check_csrf(req: Request, expected: &str, limit: usize) -> Result<Request, WebError> {
    use futures_util::StreamExt as _;
    let (parts, body) = req.into_parts();
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("multipart/form-data") {
        let mut stream = body.into_data_stream();
        let mut head = Vec::new();
        while head.len() < MULTIPART_HEAD {
            match stream.next().await {
                Some(Ok(chunk)) => head.extend_from_slice(&chunk),
                Some(Err(_)) => {
                    return Err(WebError::BadRequest(
                        "アップロードが途中で切れました。".into(),
                    ));
                }
                None => break,
            }
        }
        let given = multipart_field(&head, "_csrf");
        if expected.is_empty() || given.as_deref() != Some(expected) {
            return Err(WebError::Csrf);
        }
        let first = futures_util::stream::once(async move {
            Ok::<_, axum::Error>(axum::body::Bytes::from(head))
        });
        return Ok(Request::from_parts(
            parts,
            Body::from_stream(first.chain(stream)),
        ));
    }
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| WebError::BadRequest("ファイルが大きすぎます。".into()))?;
    let given = url_form_field(&bytes, "_csrf");
    if expected.is_empty() || given.as_deref() != Some(expected) {
        return Err(WebError::Csrf);
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// How much of a multipart body the CSRF check reads before handing the stream on.
const MULTIPART_HEAD: usize = 8192;

fn url_form_field(body: &[u8], name: &str) -> Option<String> {
    std::str::from_utf8(body).ok()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| v.to_owned())
    })
}

/// The value of a small text part of a multipart body (the form puts `_csrf` first).
fn multipart_field(body: &[u8], name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\"");
    let head = &body[..body.len().min(8192)];
    let text = String::from_utf8_lossy(head);
    let at = text.find(&marker)?;
    let rest = &text[at..];
    let start = rest.find("\r\n\r\n")? + 4;
    let end = rest[start..].find("\r\n")?;
    Some(rest[start..start + end].to_owned())
}

/// The middleware.
pub async fn check(State(ctx): State<GateContext>, req: Request, next: Next) -> Response {
    match decide(&ctx, req).await {
        Ok(req) => next.run(req).await,
        Err(resp) => resp,
    }
}

async fn decide(ctx: &GateContext, mut req: Request) -> Result<Request, Response> {
    if !ctx.api
        && req.method() == Method::POST
        && !same_origin(req.headers(), ctx.state.config.public_origin.as_deref())
    {
        return Err(fail(false, WebError::Csrf));
    }
    if ctx.gate == Gate::Public {
        return Ok(req);
    }
    let headers = req.headers().clone();
    let who = identify(ctx, &headers, origin_of(&req))
        .await
        .map_err(|e| fail(ctx.api, e))?;
    let Some(who) = who else {
        return Err(if ctx.api || req.method() != Method::GET {
            fail(ctx.api, WebError::LoginRequired)
        } else {
            Redirect::to("/login").into_response()
        });
    };
    let stage = who.session.as_ref().map_or(SessionStage::Full, |s| s.stage);
    if ctx.gate != Gate::Session && stage != SessionStage::Full {
        return Err(if req.method() == Method::GET {
            Redirect::to(if stage == SessionStage::Enrol {
                "/totp/setup"
            } else {
                "/totp"
            })
            .into_response()
        } else {
            fail(ctx.api, WebError::LoginRequired)
        });
    }
    if let Gate::Can(action) = ctx.gate {
        let code = employer_in_path(ctx.path, req.uri().path());
        let parsed = code.as_deref().map(EmployerCode::parse);
        let access = match &parsed {
            Some(Ok(c)) => authz::decide(&who.role, action, Scope::Employer(c)),
            Some(Err(_)) => Access::Deny,
            None => authz::decide(&who.role, action, Scope::Society),
        };
        if access == Access::Deny {
            let hide = code.is_some() && matches!(who.role, Role::Employer(_));
            return Err(fail(
                ctx.api,
                if hide {
                    WebError::NotFound
                } else {
                    WebError::Forbidden
                },
            ));
        }
        req.extensions_mut().insert(Granted(access));
    }
    if !ctx.api && req.method() == Method::POST {
        let expected = who.csrf().to_owned();
        req = check_csrf(req, &expected, ctx.state.config.max_upload_bytes)
            .await
            .map_err(|e| fail(false, e))?;
    }
    req.extensions_mut().insert(who);
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn employer_is_read_from_the_pattern_position() {
        assert_eq!(
            employer_in_path(
                "/employer/{employer}/uploads/{id}",
                "/employer/E01/uploads/3"
            )
            .as_deref(),
            Some("E01")
        );
        assert_eq!(employer_in_path("/staff", "/staff"), None);
    }

    #[test]
    fn cross_site_posts_are_told_apart_by_fetch_metadata_and_origin() {
        let h = |pairs: &[(&str, &str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(
                    header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    v.parse().unwrap(),
                );
            }
            h
        };
        let host = ("host", "portal.example:8080");
        assert!(same_origin(&h(&[host]), None), "no browser headers");
        assert!(same_origin(
            &h(&[
                host,
                ("origin", "https://portal.example:8080"),
                ("sec-fetch-site", "same-origin")
            ]),
            None
        ));
        assert!(!same_origin(
            &h(&[host, ("origin", "https://evil.example")]),
            None
        ));
        assert!(
            same_origin(
                &h(&[host, ("origin", "null"), ("sec-fetch-site", "same-origin")]),
                None
            ),
            "the portal's own form under Referrer-Policy: no-referrer"
        );
        assert!(!same_origin(
            &h(&[host, ("origin", "null"), ("sec-fetch-site", "cross-site")]),
            None
        ));
        assert!(!same_origin(
            &h(&[host, ("sec-fetch-site", "cross-site")]),
            None
        ));
        assert!(!same_origin(
            &h(&[host, ("sec-fetch-site", "same-site")]),
            None
        ));
        assert!(same_origin(
            &h(&[
                ("host", "127.0.0.1:8080"),
                ("origin", "https://portal.example")
            ]),
            Some("https://portal.example")
        ));
        assert!(!same_origin(
            &h(&[
                ("host", "portal.example"),
                ("origin", "https://portal.example.evil")
            ]),
            Some("https://portal.example")
        ));
    }

    #[test]
    fn csrf_is_found_in_both_form_encodings() {
        assert_eq!(
            url_form_field(b"a=1&_csrf=abc&b=2", "_csrf").as_deref(),
            Some("abc")
        );
        let body = b"--X\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\ntok\r\n--X--\r\n";
        assert_eq!(multipart_field(body, "_csrf").as_deref(), Some("tok"));
    }
}
