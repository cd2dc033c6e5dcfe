//! The process's own figures, read from /proc at each scrape, under the
//! names Prometheus's client libraries use (`process_*`).

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

/// Reads /proc/self at each scrape (nothing elsewhere: other systems get
/// no process figures).
#[derive(Debug, Default)]
pub struct Process;

/// What /proc says about this process.
#[derive(Debug, Default, PartialEq)]
pub struct Figures {
    /// User and system CPU time, in seconds.
    pub cpu_seconds: f64,
    /// Resident memory, in bytes.
    pub resident_bytes: u64,
    /// Virtual memory, in bytes.
    pub virtual_bytes: u64,
    /// Open file descriptors.
    pub open_fds: u64,
    /// The soft limit on them.
    pub max_fds: u64,
    /// When the process started, in seconds since the Unix epoch.
    pub start_time: f64,
}

/// Reads the figures (zeros for what cannot be read).
pub fn read() -> Figures {
    let ticks = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .filter(|t| *t > 0)
        .unwrap_or(100) as f64;
    let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .filter(|p| *p > 0)
        .unwrap_or(4096) as u64;
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // `pid (comm) state ...`: comm may hold spaces, so count after `)`.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // After `)`: state is field 3 of proc(5); utime 14, stime 15,
    // starttime 22, vsize 23, rss 24 are at index n - 3.
    let field = |n: usize| {
        fields
            .get(n - 3)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let boot = std::fs::read_to_string("/proc/stat")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("btime ")
                .and_then(|v| v.trim().parse::<u64>().ok())
        })
        .unwrap_or(0);
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let max_fds = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Figures {
        cpu_seconds: (field(14) + field(15)) as f64 / ticks,
        resident_bytes: field(24) * page,
        virtual_bytes: field(23),
        open_fds: std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as u64),
        max_fds,
        start_time: boot as f64 + field(22) as f64 / ticks,
    }
}

impl Collector for Process {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let f = read();
        let cpu = ConstCounter::new(f.cpu_seconds);
        cpu.encode(encoder.encode_descriptor(
            "process_cpu_seconds",
            "user and system CPU time spent, in seconds",
            None,
            cpu.metric_type(),
        )?)?;
        for (name, help, value) in [
            (
                "process_resident_memory_bytes",
                "resident memory size, in bytes",
                f.resident_bytes,
            ),
            (
                "process_virtual_memory_bytes",
                "virtual memory size, in bytes",
                f.virtual_bytes,
            ),
            ("process_open_fds", "open file descriptors", f.open_fds),
            (
                "process_max_fds",
                "the most file descriptors the process may open",
                f.max_fds,
            ),
        ] {
            let gauge = ConstGauge::new(value);
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        let start = ConstGauge::new(f.start_time);
        start.encode(encoder.encode_descriptor(
            "process_start_time_seconds",
            "when the process started, in seconds since the Unix epoch",
            None,
            start.metric_type(),
        )?)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_memory_descriptors_and_a_start_in_the_past() {
        let f = read();
        assert!(f.resident_bytes > 1 << 20, "{f:?}");
        assert!(f.open_fds >= 3 && f.max_fds >= f.open_fds, "{f:?}");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!(
            f.start_time > now - 3600.0 && f.start_time <= now + 1.0,
            "{f:?}"
        );
    }
}
