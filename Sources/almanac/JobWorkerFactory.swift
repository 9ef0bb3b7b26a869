import API
import EventStore

/// The `full` job worker on a store.
enum JobWorkerFactory {
    static func worker(store: EventStore) -> JobWorker {
        JobWorker(queue: JobQueue(store: store))
    }
}
