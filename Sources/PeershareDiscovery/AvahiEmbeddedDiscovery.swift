// The discovery back end that runs Avahi's mDNS stack (libavahi-core) in-process, for
// machines with no avahi-daemon or no system D-Bus. The twin of AvahiDaemonDiscovery.

// avahi-common/defs.h (server, browser and resolver states) is shared by both C
// modules and Swift sees its constants through CAvahiClient.
internal import CAvahiClient
internal import CAvahiCoreLoader
import Foundation
import NIOConcurrencyHelpers
import Logging

/// Publishes and browses with an embedded `AvahiServer`: no daemon to install or start.
/// It binds only to the allowed interfaces (all when the filter is empty).
public final class AvahiEmbeddedDiscovery: DiscoveryBackend {
    private let serviceType: String
    private let logger: Logger
    private let interfaces: InterfaceFilter
    private let current = NIOLockedValueBox<EmbeddedSession?>(nil)

    public init(serviceType: String = "_peershare._tcp", interfaces: InterfaceFilter = InterfaceFilter(), logger: Logger) {
        self.serviceType = serviceType
        self.logger = logger
        self.interfaces = interfaces
    }

    /// Opens libavahi-core (once per process; `pscore_load`): nil, or why it cannot be used.
    public static func loadLibrary() -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        let result = buffer.withUnsafeMutableBufferPointer { pscore_load($0.baseAddress, $0.count) }
        guard result != 0 else { return nil }
        let why = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return "Avahi's embeddable mDNS stack cannot be loaded (\(why)); install it with apt-get install libavahi-core7"
    }

    public func start(advert: ServiceAdvert?) -> AsyncStream<DiscoveryEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: DiscoveryEvent.self, bufferingPolicy: .unbounded)
        if let problem = Self.loadLibrary() {
            continuation.yield(.using(.embedded))
            continuation.yield(.daemonUnavailable(problem))
            continuation.finish()
            return stream
        }
        AvahiCoreLog.route(to: logger)
        guard let session = EmbeddedSession(serviceType: serviceType, advert: advert, interfaces: interfaces,
                                            logger: logger, continuation: continuation) else {
            continuation.yield(.daemonUnavailable("could not create the embedded mDNS stack's event loop"))
            continuation.finish()
            return stream
        }
        // As with the daemon: a consumer that stops listening frees everything, off the poll thread.
        continuation.onTermination = { _ in
            Task.detached { session.shutdown() }
        }
        let previous = current.withLockedValue { slot -> EmbeddedSession? in
            defer { slot = session }
            return slot
        }
        previous?.shutdown()
        session.begin()
        return stream
    }

    /// Withdraws the advert (goodbye packets), frees the stack and ends the event stream.
    public func stop() async {
        let session = current.withLockedValue { session -> EmbeddedSession? in
            defer { session = nil }
            return session
        }
        session?.shutdown()
    }

    deinit {
        current.withLockedValue { $0 }?.shutdown()
    }
}

/// libavahi-core writes its log to stderr unless told otherwise
/// (`pscore_set_log_function`, process-wide, without userdata): its lines go to our
/// logger instead, errors and warnings at info level, the rest at debug.
enum AvahiCoreLog {
    private static let logger = NIOLockedValueBox<Logger?>(nil)

    static func route(to logger: Logger) {
        let first = self.logger.withLockedValue { slot -> Bool in
            defer { slot = logger }
            return slot == nil
        }
        guard first else { return }
        pscore_set_log_function { level, text in
            guard let text else { return }
            let message = String(cString: text)
            AvahiCoreLog.logger.withLockedValue { $0 }.map { logger in
                let important = level == AVAHI_LOG_ERROR || level == AVAHI_LOG_WARN
                logger.log(level: important ? .info : .debug, "avahi-core: \(message)")
            }
        }
    }
}
