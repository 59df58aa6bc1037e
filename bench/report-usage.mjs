// Preloaded with `node --import ./bench/report-usage.mjs ...`: at exit, one JSON line on
// stderr with the process's own CPU time and peak RSS, so bench/runtime.ts can compare
// runtimes by CPU seconds, which a shared machine disturbs far less than wall time.
process.on('exit', () => {
  const u = process.resourceUsage();
  process.stderr.write(`\nMESHGUARD_USAGE ${JSON.stringify({ cpuSeconds: (u.userCPUTime + u.systemCPUTime) / 1e6, maxRssMb: Math.round(u.maxRSS / 102.4) / 10 })}\n`);
});
