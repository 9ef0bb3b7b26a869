public import NIOCore

/// A NIO event loop as a task executor: a task that prefers it runs its jobs on the loop's
/// thread, where PostgresNIO writes a connection's statements and reads their replies.
///
/// A statement awaited from the cooperative pool crosses threads twice per round trip: the
/// write is handed to the connection's event loop (waking it), the reply resumes the task on
/// the pool (waking a pool thread). A transaction of seven statements pays fourteen wake-ups and
/// context switches, which showed as CPU time: 1.2 to 2.2 ms of the API process's CPU per
/// create, against pgbench's 0.19 ms for the same statements (`benchmarks/run --scenarios
/// writes`). A task that prefers the connection's loop writes in place and is resumed where the
/// reply was read. Only short work belongs there: while it runs, every other channel of that
/// loop waits.
public final class EventLoopExecutor: TaskExecutor {
    public let eventLoop: any EventLoop

    public init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
