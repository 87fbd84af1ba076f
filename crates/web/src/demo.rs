//! Demo accounts for `collabo demo`: an admin, a staff member, an auditor and one
//! employer contact for each of the first employers, with fixed passwords and TOTP
//! secrets (already enrolled) so the demo can print how to log in. Never use these
//! on real data: the secrets are in the source.

use collabo_app::accounts::NewUser;
use collabo_app::{Actor, App};
use collabo_domain::authz::Role;

/// One demo login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoAccount {
    /// Login name.
    pub username: String,
    /// Password.
    pub password: String,
    /// Role.
    pub role: Role,
    /// Base32 TOTP secret (enrolled), if the account uses a second factor.
    pub totp_secret: Option<String>,
}

/// Fixed demo TOTP secrets (160 bits, base32).
const SECRETS: [&str; 3] = [
    "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
    "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU",
    "MFRGGZDFMZTWQ2LKMFRGGZDFMZTWQ2LK",
];

/// Creates (or resets) the demo accounts, as `actor` (an admin); employer contacts for
/// up to three employers.
pub async fn ensure_demo_accounts(app: &App, actor: &Actor) -> anyhow::Result<Vec<DemoAccount>> {
    let mut accounts = vec![
        DemoAccount {
            username: "admin".into(),
            password: "demo-admin-pass".into(),
            role: Role::Admin,
            totp_secret: Some(SECRETS[0].into()),
        },
        DemoAccount {
            username: "staff".into(),
            password: "demo-staff-pass".into(),
            role: Role::Staff,
            totp_secret: Some(SECRETS[1].into()),
        },
        DemoAccount {
            username: "auditor".into(),
            password: "demo-auditor-pass".into(),
            role: Role::Auditor,
            totp_secret: Some(SECRETS[2].into()),
        },
    ];
    for employer in app.employers(actor).await?.into_iter().take(3) {
        accounts.push(DemoAccount {
            username: format!("employer-{}", employer.code),
            password: format!("demo-employer-{}", employer.code),
            role: Role::Employer(vec![employer.code.clone()]),
            totp_secret: None,
        });
    }
    for a in &accounts {
        app.put_user_with_totp(
            actor,
            NewUser {
                username: a.username.clone(),
                display_name: a.username.clone(),
                password: a.password.clone(),
                role: a.role.clone(),
            },
            a.totp_secret.as_deref(),
        )
        .await?;
    }
    Ok(accounts)
}
