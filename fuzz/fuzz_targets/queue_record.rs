//! The queue record round trip: whatever envelope a client managed to get
//! accepted (sender, recipients with ORCPT and NOTIFY, ENVID, RET, SMTPUTF8)
//! and the DKIM fields made at queueing, the row the delivery worker reads
//! back through the store's seam (`QueueStore::queue_message`) holds the same
//! values, and the body opened by id is the one committed. Each input is
//! committed into one store in a temporary directory, then deleted again.
//!
//! Input: NUL-separated fields — flags byte (bit 0 SMTPUTF8, the rest the
//! NOTIFY bits), sender, ENVID, RET, prepend, body, then recipients as
//! `address` or `address\x01orcpt` (at most 50, duplicates dropped).
#![no_main]

use libfuzzer_sys::fuzz_target;
use postern_store::{Delivery, MailStore, QueueStore, RemoteRecipient, Store};
use std::sync::{Arc, LazyLock};

static RT: LazyLock<tokio::runtime::Runtime> =
    LazyLock::new(|| tokio::runtime::Runtime::new().expect("a runtime"));
/// The store and the directory it lives in, for the whole fuzzing process.
static STORE: LazyLock<(tempfile::TempDir, Arc<Store>)> = LazyLock::new(|| {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Store::open(dir.path()).expect("the store opens");
    (dir, Arc::new(store))
});

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn optional(b: &[u8]) -> Option<String> {
    (!b.is_empty()).then(|| text(b))
}

fuzz_target!(|data: &[u8]| {
    let mut fields = data.split(|&b| b == 0);
    let flags = fields.next().and_then(|f| f.first().copied()).unwrap_or(0);
    let sender = text(fields.next().unwrap_or_default());
    let env_id = optional(fields.next().unwrap_or_default());
    let ret = optional(fields.next().unwrap_or_default());
    let prepend = fields.next().unwrap_or_default().to_vec();
    let body = fields.next().unwrap_or_default().to_vec();
    let mut remote: Vec<RemoteRecipient> = Vec::new();
    for r in fields.take(50) {
        let mut parts = r.splitn(2, |&b| b == 1);
        let address = text(parts.next().unwrap_or_default());
        if address.is_empty() || remote.iter().any(|x| x.address == address) {
            continue;
        }
        let orcpt = parts.next().map(text);
        let notify = u64::from(flags >> 1);
        remote.push(RemoteRecipient { address, orcpt, notify });
    }
    if remote.is_empty() {
        return;
    }
    RT.block_on(round_trip(&STORE.1, sender, env_id, ret, flags & 1 == 1, prepend, body, remote));
});

#[allow(clippy::too_many_arguments)]
async fn round_trip(
    store: &Arc<Store>,
    sender: String,
    env_id: Option<String>,
    ret: Option<String>,
    smtputf8: bool,
    prepend: Vec<u8>,
    body: Vec<u8>,
    remote: Vec<RemoteRecipient>,
) {
    let store: &dyn QueueStore = &**store;
    let mut w = store.create_blob().await.expect("a blob");
    w.write(&body).await.expect("written");
    let delivery = Delivery {
        blob: w.finish().await.expect("finished"),
        sender: sender.clone(),
        local: vec![],
        remote: remote.clone(),
        env_id: env_id.clone(),
        ret: ret.clone(),
        smtputf8,
        internal_date: 1,
        prepend: prepend.clone(),
        junk: false,
    };
    let id = store.commit(delivery).await.expect("committed").id.to_string();
    let msg = store.queue_message(&id).await.expect("read").expect("queued");
    assert_eq!((&msg.sender, &msg.env_id, &msg.ret), (&sender, &env_id, &ret));
    assert_eq!((msg.smtputf8, msg.size, &msg.prepend), (smtputf8, body.len() as u64, &prepend));
    let got: Vec<(String, Option<String>, u64)> = msg
        .recipients
        .iter()
        .map(|r| (r.address.clone(), r.orcpt.clone(), r.notify))
        .collect();
    let want: Vec<(String, Option<String>, u64)> = remote
        .iter()
        .map(|r| (r.address.clone(), r.orcpt.clone(), r.notify))
        .collect();
    assert_eq!(got, want, "recipients in order, with ORCPT and NOTIFY");
    assert_eq!(store.read_body(&msg.blob).await.expect("read").expect("body"), body);
    store.queue_delete(&id).await.expect("deleted");
}
