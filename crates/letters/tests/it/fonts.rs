//! Without a Japanese font the renderer refuses to start and says how to install one.

use collabo_letters::{LetterError, Renderer};

#[test]
fn no_japanese_font_is_an_error_with_the_install_command() {
    let empty = tempfile::tempdir().unwrap();
    let error = Renderer::new(&[empty.path().to_path_buf()], None)
        .err()
        .expect("no fonts must be refused");
    assert!(matches!(error, LetterError::NoJapaneseFont { .. }));
    let message = error.to_string();
    assert!(
        message.contains("sudo apt-get install fonts-ipaexfont fonts-noto-cjk"),
        "{message}"
    );
    assert!(message.contains("bash scripts/setup.sh"), "{message}");
    assert!(
        message.contains(&empty.path().display().to_string()),
        "{message}"
    );
}
