//! What the code under test logs, for the tests that check what logs say and never say. One
//! subscriber serves the whole binary (a scoped one misses callsites whose interest another test
//! thread cached first); it formats events, DEBUG and above, only while some test records, and
//! each recording gets every line written meanwhile, whichever test wrote it.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once, Weak};
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;

type Buffer = Arc<Mutex<Vec<u8>>>;

static RECORDINGS: Mutex<Vec<Weak<Mutex<Vec<u8>>>>> = Mutex::new(Vec::new());
static RECORDING: AtomicUsize = AtomicUsize::new(0);

/// Log lines from now until the recording is dropped.
pub struct Recording(Buffer);

impl Recording {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    pub fn clear(&self) {
        self.0.lock().unwrap().clear();
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        RECORDING.fetch_sub(1, Ordering::SeqCst);
    }
}

pub fn record() -> Recording {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Dynamic: asked at every event, where a plain `filter_fn` would decide once per callsite.
        let recorded = tracing_subscriber::filter::dynamic_filter_fn(|meta, _| {
            *meta.level() <= tracing::Level::DEBUG && RECORDING.load(Ordering::SeqCst) > 0
        })
        .with_max_level_hint(tracing::Level::DEBUG);
        let layer = tracing_subscriber::fmt::layer().with_ansi(false).with_writer(Fanout).with_filter(recorded);
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
            .expect("no other log subscriber in the test binary");
    });
    let buffer = Buffer::default();
    let mut all = RECORDINGS.lock().unwrap();
    all.retain(|r| r.strong_count() > 0);
    all.push(Arc::downgrade(&buffer));
    RECORDING.fetch_add(1, Ordering::SeqCst);
    Recording(buffer)
}

/// Writes each line into every live recording.
struct Fanout;

impl Write for Fanout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        for recording in RECORDINGS.lock().unwrap().iter().filter_map(Weak::upgrade) {
            recording.lock().unwrap().extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Fanout {
    type Writer = Fanout;

    fn make_writer(&'a self) -> Fanout {
        Fanout
    }
}
