#pragma once

/// How the process' own threads share the CPU with its event loops.
namespace switchyard {

/// Marks the calling thread as background work (usage writes, Postgres queries, change listeners): it runs
/// at a lower priority (nice 10, or the process' own if lower still) than the event loops, so that a loop
/// woken by a socket preempts it at once instead of waiting out its time slice, which showed as milliseconds
/// of tail latency when both shared a core. Best effort: a refusal (a sandbox without the permission) leaves
/// the thread as it was.
void run_as_background_thread();

}  // namespace switchyard
