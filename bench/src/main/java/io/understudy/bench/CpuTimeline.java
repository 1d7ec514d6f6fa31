package io.understudy.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * CPU used while a failover run goes, every 100 ms: by the system under test (its processes and
 * their children), by the load client (this JVM) and by the whole machine (/proc/stat). It tells a
 * slow failover from a saturated machine: on two shared cores, a window that misses "back to
 * normal" while the machine is busy all the time is waiting for a core, not for a verdict.
 */
final class CpuTimeline implements AutoCloseable {
    private static final long PERIOD_MILLIS = 100;

    /** One reading: CPU seconds used so far, and the machine's busy and total jiffies since boot. */
    record Tick(long atNanos, double systemSeconds, double loadSeconds, long machineBusy, long machineTotal) {
    }

    /** Shares of all cores, 0 to 1, between two moments. */
    record Shares(double machine, double system) {
    }

    private final List<ProcessHandle> system;
    /** Each process's CPU seconds when last read: a process killed in the run keeps counting what it used. */
    private final java.util.Map<Long, Double> lastRead = new java.util.HashMap<>(); // the sampler's only
    private final List<Tick> ticks = new ArrayList<>(); // guarded by this
    private final Thread sampler;
    private final int cores = Runtime.getRuntime().availableProcessors();

    private CpuTimeline(List<ProcessHandle> system) {
        this.system = system;
        this.sampler = Thread.ofPlatform().daemon().name("bench-cpu-timeline").start(this::sample);
    }

    /** Starts sampling now; {@link #close} stops it. */
    static CpuTimeline start(List<ProcessHandle> system) {
        return new CpuTimeline(ProcStats.withDescendants(system));
    }

    private void sample() {
        long next = System.nanoTime();
        while (!Thread.currentThread().isInterrupted()) {
            long[] machine = machineJiffies();
            Tick tick = new Tick(System.nanoTime(), systemSeconds(),
                    ProcStats.cpuSeconds(List.of(ProcessHandle.current())), machine[0], machine[1]);
            synchronized (this) {
                ticks.add(tick);
            }
            next += TimeUnit.MILLISECONDS.toNanos(PERIOD_MILLIS);
            long sleep = next - System.nanoTime();
            if (sleep > 0) {
                try {
                    TimeUnit.NANOSECONDS.sleep(sleep);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    private double systemSeconds() {
        double sum = 0;
        for (ProcessHandle p : system) {
            double now = ProcStats.cpuSeconds(p.pid());
            if (now >= 0) {
                lastRead.put(p.pid(), now);
            }
            sum += lastRead.getOrDefault(p.pid(), 0.0);
        }
        return sum;
    }

    /** {busy, total} jiffies of all CPUs since boot; busy leaves out idle and iowait. */
    private static long[] machineJiffies() {
        try {
            String first = Files.readAllLines(Path.of("/proc/stat")).getFirst();
            String[] f = first.trim().split("\\s+");
            long total = 0;
            for (int i = 1; i < f.length && i <= 8; i++) { // user nice system idle iowait irq softirq steal
                total += Long.parseLong(f[i]);
            }
            long idle = Long.parseLong(f[4]) + Long.parseLong(f[5]);
            return new long[]{total - idle, total};
        } catch (IOException | RuntimeException e) {
            return new long[]{-1, -1};
        }
    }

    @Override
    public void close() {
        sampler.interrupt();
        try {
            sampler.join(TimeUnit.SECONDS.toMillis(2));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The shares of all cores used between {@code fromNanos} and {@code toNanos} (nearest readings), or null. */
    synchronized Shares between(long fromNanos, long toNanos) {
        Tick a = nearest(fromNanos);
        Tick b = nearest(toNanos);
        if (a == null || b == null || b.atNanos() <= a.atNanos() || a.machineTotal() < 0 || b.machineTotal() <= a.machineTotal()) {
            return null;
        }
        double seconds = (b.atNanos() - a.atNanos()) / 1e9;
        double capacity = seconds * cores;
        return new Shares((double) (b.machineBusy() - a.machineBusy()) / (b.machineTotal() - a.machineTotal()),
                (b.systemSeconds() - a.systemSeconds()) / capacity);
    }

    private Tick nearest(long nanos) {
        Tick best = null;
        for (Tick t : ticks) {
            if (best == null || Math.abs(t.atNanos() - nanos) < Math.abs(best.atNanos() - nanos)) {
                best = t;
            }
        }
        return best;
    }

    /** Each 100 ms reading as ms of CPU per second, by its time from the fault: for tracing a run by hand. */
    synchronized void write(Path file, long faultNanos) throws IOException {
        StringBuilder out = new StringBuilder("# CPU in ms per second over each 100 ms; " + cores + " cores = "
                + cores * 1000 + "\nfrom_fault_ms\tmachine\tsystem\tload_client\n");
        for (int i = 1; i < ticks.size(); i++) {
            Tick a = ticks.get(i - 1);
            Tick b = ticks.get(i);
            double seconds = (b.atNanos() - a.atNanos()) / 1e9;
            double machine = b.machineTotal() > a.machineTotal()
                    ? (double) (b.machineBusy() - a.machineBusy()) / (b.machineTotal() - a.machineTotal()) * cores * 1000 : 0;
            out.append(TimeUnit.NANOSECONDS.toMillis(b.atNanos() - faultNanos)).append('\t')
                    .append(String.format(Locale.ROOT, "%.0f\t%.0f\t%.0f%n", machine,
                            (b.systemSeconds() - a.systemSeconds()) / seconds * 1000,
                            (b.loadSeconds() - a.loadSeconds()) / seconds * 1000));
        }
        Files.writeString(file, out);
    }
}
