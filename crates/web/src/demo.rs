//! Demo accounts for `collabo demo`: an admin, a staff member, an auditor and one
//! employer contact for each of the first employers, with fixed passwords and TOTP
//! secrets (already enrolled) so the demo can print how to log in. Never use these
//! on real data: the secrets are in the source.

use collabo_store::Store;
use collabo_store::portal::UserRow;

/// One demo login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoAccount {
    /// Login name.
    pub username: String,
    /// Password.
    pub password: String,
    /// Role code.
    pub role: String,
    /// Employer codes (employer contacts).
    pub employers: Vec<String>,
    /// Base32 TOTP secret (enrolled), if the account uses a second factor.
    pub totp_secret: Option<String>,
}

/// Fixed demo TOTP secrets (160 bits, base32).
const SECRETS: [&str; 3] = [
    "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
    "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU",
    "MFRGGZDFMZTWQ2LKMFRGGZDFMZTWQ2LK",
];

/// Creates (or resets) the demo accounts; employer contacts for up to `3` employers.
pub async fn ensure_demo_accounts(
    store: &Store,
    now: jiff::Timestamp,
) -> anyhow::Result<Vec<DemoAccount>> {
    let mut accounts = vec![
        DemoAccount {
            username: "admin".into(),
            password: "demo-admin-pass".into(),
            role: "admin".into(),
            employers: Vec::new(),
            totp_secret: Some(SECRETS[0].into()),
        },
        DemoAccount {
            username: "staff".into(),
            password: "demo-staff-pass".into(),
            role: "staff".into(),
            employers: Vec::new(),
            totp_secret: Some(SECRETS[1].into()),
        },
        DemoAccount {
            username: "auditor".into(),
            password: "demo-auditor-pass".into(),
            role: "auditor".into(),
            employers: Vec::new(),
            totp_secret: Some(SECRETS[2].into()),
        },
    ];
    for employer in store.employers().await?.into_iter().take(3) {
        accounts.push(DemoAccount {
            username: format!("employer-{}", employer.code),
            password: format!("demo-employer-{}", employer.code),
            role: "employer".into(),
            employers: vec![employer.code.to_string()],
            totp_secret: None,
        });
    }
    for a in &accounts {
        let hash = crate::auth::hash_password(a.password.clone())
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        store
            .put_user(
                &UserRow {
                    username: a.username.clone(),
                    display_name: a.username.clone(),
                    password_hash: hash,
                    role: a.role.clone(),
                    employers: a.employers.clone(),
                    totp_secret: a.totp_secret.clone(),
                    totp_enrolled: a.totp_secret.is_some(),
                    failed_logins: 0,
                    locked_until: None,
                },
                now,
            )
            .await?;
    }
    Ok(accounts)
}
