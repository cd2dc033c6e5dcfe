//! What an `ERR_NGROK_NNNN` code means and how to fix it (pure).

/// Where ngrok comes from, for "not installed".
pub const INSTALL_HELP: &str = "install ngrok v3 from https://ngrok.com/download (or `snap install ngrok`, `brew install ngrok`), then run `ngrok config add-authtoken TOKEN`; or point to it with --ngrok PATH or the CONNECT_NGROK environment variable";

/// The explanation and fix for an ngrok error code.
pub fn explain(code: u32) -> String {
    match code {
        4018 => "ngrok needs an authtoken (ERR_NGROK_4018): sign up at https://dashboard.ngrok.com/signup, copy the token from https://dashboard.ngrok.com/get-started/your-authtoken and run `ngrok config add-authtoken TOKEN`".into(),
        105 => "ngrok rejected the authtoken (ERR_NGROK_105): it is mistyped or belongs to a deleted account; copy it again from https://dashboard.ngrok.com/get-started/your-authtoken and run `ngrok config add-authtoken TOKEN`".into(),
        107 => "the authtoken was revoked or reset (ERR_NGROK_107): get the current one from https://dashboard.ngrok.com/get-started/your-authtoken and run `ngrok config add-authtoken TOKEN`".into(),
        108 => "another ngrok agent is already running for this account and the plan allows one session (ERR_NGROK_108): stop the other `ngrok` (see https://dashboard.ngrok.com/agents), then run `connect dev --tunnel` again".into(),
        334 => "that URL is already online through another ngrok agent (ERR_NGROK_334): stop the other agent serving it, or choose another with --url".into(),
        _ => format!("ngrok failed with ERR_NGROK_{code}: see https://ngrok.com/docs/errors/err_ngrok_{code}/"),
    }
}

/// Whether retrying cannot help until the user acts (bad credentials,
/// a session or URL already taken).
pub fn is_fatal(code: u32) -> bool {
    matches!(code, 4018 | 105 | 107 | 108 | 334)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_known_code_names_its_fix() {
        assert!(explain(4018).contains("ngrok config add-authtoken TOKEN"));
        assert!(explain(105).contains("ngrok config add-authtoken"));
        assert!(explain(107).contains("revoked"));
        assert!(explain(108).contains("another ngrok agent"));
        assert!(explain(334).contains("--url"));
    }

    #[test]
    fn an_unknown_code_points_to_its_documentation() {
        assert!(explain(9009).contains("https://ngrok.com/docs/errors/err_ngrok_9009/"));
        assert!(!is_fatal(9009));
        assert!(is_fatal(4018));
    }
}
