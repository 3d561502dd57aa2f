//! Configuration: defaults in code < optional TOML file < `PORTCULLIS_*` environment variables.

use app::server::Settings;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use std::path::Path;

pub fn load(file: Option<&Path>) -> Result<Settings, figment::Error> {
    let mut figment = Figment::from(Serialized::defaults(Settings::default()));
    match file {
        Some(path) => figment = figment.merge(Toml::file_exact(path)),
        None => figment = figment.merge(Toml::file("portcullis.toml")),
    }
    figment.merge(Env::prefixed("PORTCULLIS_")).extract()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_file_overrides_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "p.toml",
                "session_idle_minutes = 10\nlisten = \"0.0.0.0:8080\"\n",
            )?;
            jail.set_env("PORTCULLIS_SESSION_IDLE_MINUTES", "5");
            let settings = load(Some(Path::new("p.toml"))).expect("config loads");
            assert_eq!(settings.session_idle_minutes, 5);
            assert_eq!(settings.listen, "0.0.0.0:8080");
            assert_eq!(settings.session_absolute_hours, 12);
            assert!(format!("{:?}", settings.database_url).contains("****"));
            Ok(())
        });
    }
}
