//! The prompt's words, one table per language, and the choice of language: the app's
//! (`promptLanguage`, `Builder::prompt_language`), else the OS's (`sys-locale`), else
//! English. To add a language: a [`Strings`] table below, its code in [`Language`].

use crate::ErrorKind;

/// Every sentence, title and button label of the prompt in one language. `{version}` and
/// `{current}` are replaced by the versions.
pub(crate) struct Strings {
    pub update_available: &'static str,
    pub critical_update_available: &'static str,
    pub version_available: &'static str,
    pub critical_sentence: &'static str,
    pub install_now: &'static str,
    pub skip_version: &'static str,
    pub later: &'static str,
    pub update_installed: &'static str,
    pub restart_question: &'static str,
    pub restart_now: &'static str,
    pub update_failed: &'static str,
    pub could_not_install: &'static str,
    /// The error dialog's sentence for each kind of failure; `None` for English, which
    /// shows the plugin's own message (it can say more, e.g. how long ago a signature
    /// expired).
    pub error: Option<fn(ErrorKind) -> &'static str>,
}

const EN: Strings = Strings {
    update_available: "Update available",
    critical_update_available: "Critical update available",
    version_available: "Version {version} is available; you have {current}.",
    critical_sentence: "This update fixes a critical problem: install it now.",
    install_now: "Install now",
    skip_version: "Skip this version",
    later: "Later",
    update_installed: "Update installed",
    restart_question: "Version {version} is installed. Restart now to run it?",
    restart_now: "Restart now",
    update_failed: "Update failed",
    could_not_install: "Version {version} could not be installed:",
    error: None,
};

const DE: Strings = Strings {
    update_available: "Update verfügbar",
    critical_update_available: "Wichtiges Update verfügbar",
    version_available: "Version {version} ist verfügbar; installiert ist {current}.",
    critical_sentence: "Dieses Update behebt ein kritisches Problem: Installieren Sie es jetzt.",
    install_now: "Jetzt installieren",
    skip_version: "Diese Version überspringen",
    later: "Später",
    update_installed: "Update installiert",
    restart_question: "Version {version} ist installiert. Jetzt neu starten, um sie zu verwenden?",
    restart_now: "Jetzt neu starten",
    update_failed: "Update fehlgeschlagen",
    could_not_install: "Version {version} konnte nicht installiert werden:",
    error: Some(de_error),
};

fn de_error(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::RepositoryExpired => {
            "Die Signaturen des Update-Servers sind abgelaufen. Updates sind wieder möglich, \
             sobald der Herausgeber sie erneuert hat."
        }
        ErrorKind::Offline => {
            "Der Update-Server ist nicht erreichbar: Prüfen Sie die Netzwerkverbindung oder \
             versuchen Sie es später erneut."
        }
        ErrorKind::AttackDetected => {
            "Das Update wurde abgelehnt, weil eine Sicherheitsprüfung fehlschlug (Signatur, \
             Version oder Prüfsumme); nichts Ungeprüftes wurde verwendet."
        }
        ErrorKind::NotWritable => {
            "Das Update darf die nötigen Dateien nicht schreiben (Zugriff verweigert)."
        }
        ErrorKind::DiskFull => "Für das Update ist nicht genug Speicherplatz frei.",
        ErrorKind::DisabledByPolicy => {
            "Updates sind durch die Richtlinie des Administrators abgeschaltet."
        }
        ErrorKind::Disabled => "Updates sind abgeschaltet.",
        ErrorKind::NotConfigured => "Updates sind für diese App nicht eingerichtet.",
        ErrorKind::Busy => {
            "Ein anderes Update dieser App läuft gerade: Versuchen Sie es danach erneut."
        }
        _ => "Das Update konnte nicht abgeschlossen werden.",
    }
}

const FR: Strings = Strings {
    update_available: "Mise à jour disponible",
    critical_update_available: "Mise à jour critique disponible",
    version_available: "La version {version} est disponible ; vous avez la {current}.",
    critical_sentence: "Cette mise à jour corrige un problème critique : installez-la maintenant.",
    install_now: "Installer maintenant",
    skip_version: "Ignorer cette version",
    later: "Plus tard",
    update_installed: "Mise à jour installée",
    restart_question: "La version {version} est installée. Redémarrer maintenant pour l'utiliser ?",
    restart_now: "Redémarrer maintenant",
    update_failed: "Échec de la mise à jour",
    could_not_install: "La version {version} n'a pas pu être installée :",
    error: Some(fr_error),
};

fn fr_error(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::RepositoryExpired => {
            "Les signatures du serveur de mises à jour ont expiré. Les mises à jour reprendront \
             quand l'éditeur les aura renouvelées."
        }
        ErrorKind::Offline => {
            "Le serveur de mises à jour est injoignable : vérifiez la connexion réseau ou \
             réessayez plus tard."
        }
        ErrorKind::AttackDetected => {
            "La mise à jour a été refusée car un contrôle de sécurité a échoué (signature, \
             version ou somme de contrôle) ; rien de non vérifié n'a été utilisé."
        }
        ErrorKind::NotWritable => {
            "La mise à jour n'a pas le droit d'écrire les fichiers nécessaires (accès refusé)."
        }
        ErrorKind::DiskFull => "Il n'y a pas assez d'espace disque pour la mise à jour.",
        ErrorKind::DisabledByPolicy => {
            "Les mises à jour sont désactivées par la stratégie de l'administrateur."
        }
        ErrorKind::Disabled => "Les mises à jour sont désactivées.",
        ErrorKind::NotConfigured => {
            "Les mises à jour ne sont pas configurées pour cette application."
        }
        ErrorKind::Busy => {
            "Une autre mise à jour de cette application est en cours : réessayez ensuite."
        }
        _ => "La mise à jour n'a pas pu être terminée.",
    }
}

/// A language the prompt speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Language {
    English,
    German,
    French,
}

impl Language {
    /// The language of a code such as `de`, `de-DE`, `de_DE.UTF-8` or `fr-CA` (only the
    /// language part counts); `None` for one the prompt does not speak.
    pub(crate) fn from_code(code: &str) -> Option<Language> {
        let language = code
            .split(['-', '_', '.', '@', ':'])
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match language.as_str() {
            "en" => Some(Language::English),
            "de" => Some(Language::German),
            "fr" => Some(Language::French),
            _ => None,
        }
    }

    /// The app's choice if the prompt speaks it, else the OS's, else English.
    pub(crate) fn choose(app: Option<&str>, os: Option<&str>) -> Language {
        if let Some(code) = app {
            match Language::from_code(code) {
                Some(language) => return language,
                None => tracing::warn!(
                    language = code,
                    "promptLanguage: the prompt does not speak this language; using the OS's"
                ),
            }
        }
        os.and_then(Language::from_code)
            .unwrap_or(Language::English)
    }

    /// [`Language::choose`] with the OS's language as `sys-locale` reads it.
    pub(crate) fn for_app(app: Option<&str>) -> Language {
        Language::choose(app, sys_locale::get_locale().as_deref())
    }

    pub(crate) fn strings(self) -> &'static Strings {
        match self {
            Language::English => &EN,
            Language::German => &DE,
            Language::French => &FR,
        }
    }
}

/// `template` with `{version}` and `{current}` filled in.
pub(crate) fn fill(template: &str, version: &str, current: &str) -> String {
    template
        .replace("{version}", version)
        .replace("{current}", current)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_apps_choice_wins_then_the_os_then_english() {
        assert_eq!(
            Language::choose(Some("de"), Some("fr-FR")),
            Language::German
        );
        assert_eq!(Language::choose(None, Some("de-DE")), Language::German);
        assert_eq!(
            Language::choose(None, Some("de_DE.UTF-8")),
            Language::German
        );
        assert_eq!(Language::choose(None, Some("fr_CA@euro")), Language::French);
        assert_eq!(Language::choose(Some("FR"), None), Language::French);
        assert_eq!(Language::choose(None, Some("en-GB")), Language::English);
        assert_eq!(Language::choose(None, None), Language::English);
    }

    #[test]
    fn an_unknown_language_falls_back() {
        // The app's unknown choice falls back to the OS's, an unknown OS's to English.
        assert_eq!(
            Language::choose(Some("xx"), Some("de-AT")),
            Language::German
        );
        assert_eq!(Language::choose(Some("klingon"), None), Language::English);
        assert_eq!(Language::choose(None, Some("ja-JP")), Language::English);
        assert_eq!(Language::choose(Some(""), Some("C")), Language::English);
    }

    #[test]
    fn every_table_fills_both_versions_and_has_distinct_buttons() {
        for language in [Language::English, Language::German, Language::French] {
            let s = language.strings();
            let text = fill(s.version_available, "1.1.0", "1.0.0");
            assert!(text.contains("1.1.0") && text.contains("1.0.0"), "{text}");
            assert!(fill(s.restart_question, "1.1.0", "").contains("1.1.0"));
            assert!(fill(s.could_not_install, "1.1.0", "").contains("1.1.0"));
            // The answer is told apart by its label.
            let buttons = [s.install_now, s.skip_version, s.later];
            assert!(buttons
                .iter()
                .all(|b| buttons.iter().filter(|c| *c == b).count() == 1));
        }
        let de = Language::German.strings();
        assert_eq!(de.update_available, "Update verfügbar");
        assert_eq!(
            (de.error.unwrap())(ErrorKind::DiskFull),
            "Für das Update ist nicht genug Speicherplatz frei."
        );
        assert!(Language::English.strings().error.is_none());
    }
}
