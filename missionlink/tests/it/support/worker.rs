//! A Temporal worker in the test process, on a test app's databases and task queue.

use super::{
    Mail, Mailbox, SES_SENDER, TestApp, moto_messages, moto_ses_config, parse_eml, temporal_address,
};
use missionlink_api::db::Databases;
use tokio::sync::oneshot;

/// A Temporal worker running in this test process on the app's task queue.
pub struct TestWorker {
    pub outbox: tempfile::TempDir,
    mailbox: Mailbox,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl TestWorker {
    /// The emails about the mission titled `title` (every subject carries the title).
    pub async fn mail_about(&self, title: &str) -> Vec<Mail> {
        let all = match self.mailbox {
            Mailbox::Moto => moto_messages().await,
            Mailbox::Files => std::fs::read_dir(self.outbox.path())
                .into_iter()
                .flatten()
                .flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                .map(|e| parse_eml(&std::fs::read_to_string(e.path()).expect("read eml")))
                .collect(),
        };
        // The result emails and receipts; the notices while a mission runs are `notices_about`.
        all.into_iter()
            .filter(|m| m.subject.contains(title) && !super::mail::is_notice(&m.subject))
            .collect()
    }

    /// Every email sent to `to`.
    pub async fn mail_to(&self, to: &str) -> Vec<Mail> {
        self.mail_about("")
            .await
            .into_iter()
            .filter(|m| m.to == to || m.to.ends_with(&format!("<{to}>")))
            .collect()
    }

    /// Waits until `n` emails went to `to` (at most 30 s) and returns them all.
    pub async fn wait_for_mail_to(&self, to: &str, n: usize) -> Vec<Mail> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let mail = self.mail_to(to).await;
            if mail.len() >= n || tokio::time::Instant::now() > deadline {
                return mail;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }

    /// Waits until `n` emails about `title` went out (at most 30 s) and returns them all.
    pub async fn wait_for_mail(&self, title: &str, n: usize) -> Vec<Mail> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let mail = self.mail_about(title).await;
            if mail.len() >= n || tokio::time::Instant::now() > deadline {
                return mail;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            tx.send(()).ok();
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(20), task).await;
        }
    }
}

impl Drop for TestWorker {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            tx.send(()).ok();
        }
    }
}

impl TestApp {
    /// Starts a worker in this process on this app's databases and task queue, sending email
    /// through SES v2 (moto).
    pub async fn start_worker(&self) -> TestWorker {
        let mailer = missionlink_workflows::email::Mailer::ses_with(
            &moto_ses_config().await,
            format!("MissionLink <{SES_SENDER}>"),
            100,
        );
        let dir = tempfile::tempdir().expect("dir");
        self.start_worker_with(dir, Mailbox::Moto, mailer).await
    }

    /// Like [`Self::start_worker`], writing `.eml` files instead.
    pub async fn start_file_worker(&self) -> TestWorker {
        let outbox = tempfile::tempdir().expect("outbox dir");
        let mailer = missionlink_workflows::email::Mailer::file(
            outbox.path(),
            format!("MissionLink <{SES_SENDER}>"),
        );
        self.start_worker_with(outbox, Mailbox::Files, mailer).await
    }

    pub async fn start_worker_with(
        &self,
        outbox: tempfile::TempDir,
        mailbox: Mailbox,
        mailer: missionlink_workflows::email::Mailer,
    ) -> TestWorker {
        self.start_worker_exporting(outbox, mailbox, mailer, None)
            .await
    }

    /// Like [`Self::start_worker_with`], with the Temporal SDK's metrics served on `sdk_metrics`.
    pub async fn start_worker_exporting(
        &self,
        outbox: tempfile::TempDir,
        mailbox: Mailbox,
        mailer: missionlink_workflows::email::Mailer,
        sdk_metrics: Option<std::net::SocketAddr>,
    ) -> TestWorker {
        let payouts = self.config.payouts.worker();
        let topups = self.config.topups.worker();
        // The emails' links name this app, whose port the configuration does not know.
        let mut account_emails = self.config.account_emails();
        if self.config.http.public_url.is_none() {
            account_emails.public_url = self.url("");
        }
        let settlement = missionlink_workflows::mission::SettlementSettings {
            fee_bps: self.config.missions.platform_fee_bps,
            page_size: self.config.missions.settlement_page_size,
            pages_in_flight: self.config.missions.settlement_pages_in_flight,
            email_page_size: 100,
            public_url: account_emails.public_url.clone(),
            operator_contact: account_emails.operator_contact.clone(),
        };
        // The worker always reaches the real Temporal, even when this app's API is configured not to.
        let mut temporal = self.config.temporal.clone();
        temporal.address = temporal_address();
        let (users_url, missions_url) = (self.dbs.users_url.clone(), self.dbs.missions_url.clone());
        let cached_workflows = self.config.worker.cached_workflows;
        let (tx, rx) = oneshot::channel();
        // The SDK's worker future is not Send: it gets a thread and a runtime of its own, with
        // its own database pools.
        let thread = std::thread::spawn(move || -> anyhow::Result<()> {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            rt.block_on(async move {
                let db = Databases::connect(&users_url, &missions_url).await?;
                let deps = missionlink_workflows::worker::WorkerDeps {
                    audit_interval: std::time::Duration::from_secs(300),
                    event_retention: std::time::Duration::from_secs(24 * 3600),
                    sdk_metrics_addr: sdk_metrics,
                    cached_workflows,
                    missions_db: db.missions.clone(),
                    users_db: db.users.clone(),
                    mailer: std::sync::Arc::new(mailer),
                    settlement,
                    payouts,
                    topups,
                    dispute_sla: std::time::Duration::from_secs(86_400),
                    reconciliation_sla: std::time::Duration::from_secs(86_400),
                    account_emails,
                };
                missionlink_workflows::worker::run(&temporal, deps, async {
                    rx.await.ok();
                })
                .await
            })
        });
        let task = tokio::task::spawn_blocking(move || {
            thread
                .join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("worker thread panicked")))
        });
        TestWorker {
            outbox,
            mailbox,
            shutdown: Some(tx),
            task: Some(task),
        }
    }
}
