//! The support mailbox read over IMAP from a real server: Debian's dovecot, started here on a
//! plain-files mailbox (maildir) behind TLS with a certificate of a test authority. A reply put
//! into the mailbox becomes a comment; a reader killed before it moved its cursor, and a new one
//! started, take every mail once: nothing lost, nothing doubled.

use crate::both_engines;
use crate::helpers::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const ACME_USER: &str = "user@acme.example";
const MX: &str = "mx.vendor.example";

/// A dovecot serving one mailbox (`support`, password `secret`) on IMAPS; stopped when dropped.
struct Dovecot {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
    delivered: u32,
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run(dir: &Path, args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", args[0]));
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

impl Dovecot {
    async fn start() -> Dovecot {
        let dovecot = ["/usr/sbin/dovecot", "dovecot"]
            .into_iter()
            .find(|p| Command::new(p).arg("--version").output().is_ok())
            .expect(
                "dovecot is not installed: scripts/setup-tools.sh installs Debian's dovecot-imapd",
            );
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // Its login processes run as dovecot's own users and must reach its sockets in here.
        chmod(d, 0o755);
        // A test certificate authority and the server's certificate for localhost.
        run(
            d,
            &[
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=Portcullis test CA",
            ],
        );
        run(
            d,
            &[
                "openssl",
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=localhost",
            ],
        );
        std::fs::write(
            d.join("server.ext"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
             keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        run(
            d,
            &[
                "openssl",
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "server.pem",
                "-days",
                "2",
                "-extfile",
                "server.ext",
            ],
        );
        // Mail is read as an ordinary user: root may not own mail.
        let (uid, gid) = if running_as_root() {
            (65534, 65534)
        } else {
            own_ids()
        };
        let maildir = d.join("home/support/Maildir");
        for sub in ["new", "cur", "tmp"] {
            std::fs::create_dir_all(maildir.join(sub)).unwrap();
        }
        for p in [
            d.join("home"),
            d.join("home/support"),
            maildir.clone(),
            maildir.join("new"),
            maildir.join("cur"),
            maildir.join("tmp"),
        ] {
            chmod(&p, 0o777);
        }
        std::fs::write(d.join("passwd"), "support:{PLAIN}secret::::::\n").unwrap();
        let port = crate::mail::free_port();
        let dh = if Path::new("/usr/share/dovecot/dh.pem").exists() {
            "ssl_dh = </usr/share/dovecot/dh.pem\n"
        } else {
            ""
        };
        let root = d.display();
        std::fs::write(
            d.join("dovecot.conf"),
            format!(
                "protocols = imap\nlisten = 127.0.0.1\nbase_dir = {root}/run\nstate_dir = {root}/state\n\
                 log_path = {root}/dovecot.log\nssl = required\nssl_cert = <{root}/server.pem\n\
                 ssl_key = <{root}/server.key\n{dh}disable_plaintext_auth = yes\nauth_mechanisms = plain\n\
                 passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN {root}/passwd\n}}\n\
                 userdb {{\n  driver = static\n  args = uid={uid} gid={gid} home={root}/home/%u\n}}\n\
                 first_valid_uid = 1\nmail_location = maildir:~/Maildir\n\
                 service imap-login {{\n  inet_listener imap {{\n    port = 0\n  }}\n  \
                 inet_listener imaps {{\n    port = {port}\n    ssl = yes\n  }}\n}}\n"
            ),
        )
        .unwrap();
        let child = Command::new(dovecot)
            .args(["-F", "-c"])
            .arg(d.join("dovecot.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start dovecot");
        let server = Dovecot {
            child,
            dir,
            port,
            delivered: 0,
        };
        assert!(
            listening(port).await,
            "dovecot did not listen on {port}: {}",
            std::fs::read_to_string(server.dir.path().join("dovecot.log")).unwrap_or_default()
        );
        server
    }

    fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// Puts a mail into the mailbox, as the mail server's delivery does (a new maildir file).
    fn deliver(&mut self, raw: &str) {
        self.delivered += 1;
        let name = format!(
            "{}.M{}P{}.test",
            1_700_000_000 + self.delivered,
            self.delivered,
            std::process::id()
        );
        let maildir = self.dir.path().join("home/support/Maildir");
        let tmp = maildir.join("tmp").join(&name);
        std::fs::write(&tmp, raw.replace('\n', "\r\n")).unwrap();
        chmod(&tmp, 0o666);
        std::fs::rename(&tmp, maildir.join("new").join(&name)).unwrap();
    }
}

fn running_as_root() -> bool {
    own_ids().0 == 0
}

fn own_ids() -> (u32, u32) {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata("/proc/self").expect("/proc/self");
    (meta.uid(), meta.gid())
}

fn reply(token: &str, id: &str, text: &str) -> String {
    format!(
        "Authentication-Results: {MX}; dmarc=pass header.from=acme.example\n\
         From: Uma Brandt <{ACME_USER}>\nTo: support+{token}@vendor.example\nSubject: Re: your case\n\
         Message-ID: <{id}@acme.example>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n{text}\n"
    )
}

async fn comments_saying(app: &TestApp, words: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM case_entries WHERE kind = 'comment' AND body LIKE '%{words}%'"
    ))
    .await
}

async fn replies_in_the_mailbox_become_comments_once_even_across_a_killed_reader(engine: Engine) {
    let mut dovecot = Dovecot::start().await;
    let (port, ca) = (dovecot.port, dovecot.ca_file().display().to_string());
    let configure = move |s: &mut app::server::Settings| {
        s.imap_host = "localhost".into();
        s.imap_port = port;
        s.imap_user = "support".into();
        s.imap_password = app::server::state::Secret::new("secret");
        s.imap_ca_file = ca.clone();
        s.imap_poll_seconds = 1;
        s.mail_trusted_authserv_id = MX.into();
    };
    let Some(app) = spawn_with(engine, configure.clone()).await else {
        return;
    };
    let (number, asked) = crate::inbound::case_awaiting(&app, "Which version runs there?").await;
    let token = asked.case_token();

    dovecot.deliver(&reply(&token, "imap-1", "Version 2.34 runs there."));
    app.wait_until(
        "SELECT COUNT(*) FROM case_entries WHERE kind = 'comment' AND body LIKE '%Version 2.34 runs there.%'",
        1,
    )
    .await;
    assert_eq!(
        app.text(&format!(
            "SELECT state FROM cases WHERE number = '{number}'"
        ))
        .await,
        "open"
    );

    // The reader dies as if killed after taking the mail but before moving its cursor; a new
    // mail arrives meanwhile; another instance takes over.
    app.stop_imap();
    app.exec("UPDATE mailbox_cursors SET last_uid = 0").await;
    dovecot.deliver(&reply(&token, "imap-2", "And it runs on Debian."));
    let mut settings = app.settings.clone();
    configure(&mut settings);
    let second = spawn_on(app.settings.database_url.expose(), settings).await;
    second
        .wait_until(
            "SELECT COUNT(*) FROM case_entries WHERE kind = 'comment' AND body LIKE '%runs on Debian.%'",
            1,
        )
        .await;
    second
        .wait_until("SELECT COUNT(*) FROM mailbox_cursors WHERE last_uid = 2", 1)
        .await;
    assert_eq!(
        comments_saying(&second, "Version 2.34 runs there.").await,
        1,
        "not doubled"
    );
    assert_eq!(second.scalar("SELECT COUNT(*) FROM inbound_mails").await, 2);
    assert_eq!(
        second
            .scalar("SELECT COUNT(*) FROM inbound_mails WHERE verdict = 'accepted'")
            .await,
        2
    );
}

both_engines!(
engine: replies_in_the_mailbox_become_comments_once_even_across_a_killed_reader,);
