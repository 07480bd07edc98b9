// The event loop both Avahi back ends run on: one AvahiThreadedPoll, its thread and
// its timers.

internal import CAvahiClient
import Foundation
import NIOConcurrencyHelpers

/// An `AvahiThreadedPoll` (`avahi_threaded_poll_new`), whether its thread runs, and
/// timers on it. Every Avahi object of a session hangs off this loop; Avahi calls from
/// other threads go through ``withLock(_:)``, callbacks already hold the lock.
///
/// Locking invariant (why `@unchecked Sendable` is sound): `poll` and `api` are
/// immutable; `lifecycle` has its own lock, which the poll thread never takes, so
/// joining the thread while holding it cannot deadlock.
final class ThreadedPoll: @unchecked Sendable {
    let poll: OpaquePointer
    /// The `AvahiPoll` vtable (`avahi_threaded_poll_get`) that clients, servers and timers use.
    let api: UnsafePointer<AvahiPoll>
    private let lifecycle = NIOLockedValueBox(Lifecycle.created)

    enum Lifecycle: Sendable {
        case created, running, stopped
    }

    init?() {
        guard let poll = avahi_threaded_poll_new() else { return nil }
        guard let api = avahi_threaded_poll_get(poll) else {
            avahi_threaded_poll_free(poll)
            return nil
        }
        self.poll = poll
        self.api = api
    }

    /// Runs `setup` with the poll lock held, then starts the thread
    /// (`avahi_threaded_poll_start`). False if the thread could not start; true without
    /// doing anything if the loop was already started or stopped.
    func start(_ setup: () -> Void) -> Bool {
        lifecycle.withLockedValue { state -> Bool in
            guard state == .created else { return true }
            avahi_threaded_poll_lock(poll)
            setup()
            avahi_threaded_poll_unlock(poll)
            guard avahi_threaded_poll_start(poll) >= 0 else { return false }
            state = .running
            return true
        }
    }

    /// Runs `teardown` with the poll lock held (it frees every object of the session),
    /// then stops and frees the loop (`avahi_threaded_poll_stop`/`_free`, never from the
    /// poll thread itself). False if it had already been stopped.
    func stop(_ teardown: () -> Void) -> Bool {
        lifecycle.withLockedValue { state -> Bool in
            guard state != .stopped else { return false }
            let threadRunning = state == .running
            state = .stopped
            avahi_threaded_poll_lock(poll)
            teardown()
            avahi_threaded_poll_unlock(poll)
            if threadRunning { avahi_threaded_poll_stop(poll) }
            avahi_threaded_poll_free(poll)
            return true
        }
    }

    /// Runs `body` with the poll lock held if the loop's thread is running (then true),
    /// for work that the thread must carry on after the lock is released.
    func whileRunning(_ body: () -> Void) -> Bool {
        lifecycle.withLockedValue { state -> Bool in
            guard state == .running else { return false }
            avahi_threaded_poll_lock(poll)
            body()
            avahi_threaded_poll_unlock(poll)
            return true
        }
    }

    /// A timer (`timeout_new`) calling `callback` with a retained context of `session`;
    /// disarmed if `delay` is nil. Poll lock held.
    func makeTimer<Session>(for session: Session, after delay: UInt32?,
                            _ callback: AvahiTimeoutCallback) -> AvahiHandle<Session>? {
        let context = Unmanaged.passRetained(CallbackContext(session: session))
        var when = timeval()
        if let delay { avahi_elapse_time(&when, delay, 0) }
        let timeout = withUnsafePointer(to: &when) { whenPointer in
            api.pointee.timeout_new?(api, delay == nil ? nil : whenPointer, callback, context.toOpaque())
        }
        guard let timeout else {
            context.release()
            return nil
        }
        return AvahiHandle(pointer: timeout, context: context)
    }

    /// Arms `timer` to fire in `delay` ms (`avahi_elapse_time` + `timeout_update`), or
    /// disarms it (nil). Poll lock held.
    func set<Session>(_ timer: AvahiHandle<Session>, afterMilliseconds delay: UInt32?) {
        guard let update = api.pointee.timeout_update else { return }
        guard let delay else {
            update(timer.pointer, nil)
            return
        }
        var when = timeval()
        avahi_elapse_time(&when, delay, 0)
        update(timer.pointer, &when)
    }

    /// Frees a timer (`timeout_free`) and its context. Poll lock held.
    func free<Session>(_ timer: AvahiHandle<Session>) {
        let api = self.api
        timer.free { api.pointee.timeout_free?($0) }
    }
}
