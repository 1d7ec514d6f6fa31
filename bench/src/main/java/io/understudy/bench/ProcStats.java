package io.understudy.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** CPU time and peak resident memory of processes and their children, from /proc (Linux). */
final class ProcStats {
    private ProcStats() {
    }

    /** A system's processes with every process they started (nginx workers, uvicorn workers). */
    static List<ProcessHandle> withDescendants(List<ProcessHandle> roots) {
        return roots.stream().flatMap(p -> Stream.concat(Stream.of(p), p.descendants())).distinct().toList();
    }

    /** Sum of each process's peak resident set (VmHWM) in MiB: an upper bound of the system's peak. */
    static long peakRssMiB(List<ProcessHandle> processes) {
        return processes.stream().mapToLong(p -> peakRssKiB(p.pid())).filter(v -> v > 0).sum() / 1024;
    }

    /** CPU seconds (user + system) used so far by these processes. */
    static double cpuSeconds(List<ProcessHandle> processes) {
        return processes.stream().mapToDouble(p -> cpuSeconds(p.pid())).filter(v -> v > 0).sum();
    }

    private static long peakRssKiB(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }

    /** CPU seconds used so far by one process, or -1 when it is gone. */
    static double cpuSeconds(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime, stime
            return ticks / 100.0;
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }
}
