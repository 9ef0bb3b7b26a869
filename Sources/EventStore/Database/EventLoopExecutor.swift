public import NIOCore

/// A NIO event loop as a task executor: a task that prefers it runs its jobs on the loop's
/// thread, where PostgresNIO writes a connection's statements and reads their replies.
///
/// A statement awaited from the cooperative pool crosses threads twice per round trip: the
/// write is handed to the connection's event loop (waking it), the reply resumes the task on
/// the pool (waking a pool thread): fourteen wake-ups and context switches for the seven
/// statements of a create. A task that prefers the connection's loop writes in place and is
/// resumed where the reply was read; in the writes benchmark that cut the harness process's CPU
/// per create (API, projector and load generator together) by 10 to 20 %. Only short work
/// belongs there: while it runs, every other channel of that loop waits.
///
/// The loop must outlive the tasks that prefer it: NIO drops work handed to a loop that has shut
/// down, so such a task would never resume. Almanac's connections run on NIO's singleton group,
/// which lives as long as the process.
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
