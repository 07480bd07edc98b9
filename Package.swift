// swift-tools-version:6.1
// The peershare package: layers from C modules up to the command-line tool.
//
//   CSodium, CAvahiClient      system libraries found through pkg-config (apt providers)
//   CAvahiCoreLoader           Avahi's embeddable mDNS stack, opened at run time (dlopen)
//   CPeershareSys              tiny C shims for calls Swift cannot make (openat2, renameat2, SO_PEERCRED)
//   SodiumKit                  thin, checked Swift wrapper over libsodium
//   PeershareCore              no I/O: wire messages, codec, path rules, CPace and the handshake
//   PeershareDiscovery         mDNS through Avahi behind one Swift interface
//   PeersharePosix             the raw *at system calls, EINTR retried in one place
//   PeershareTransfer          one session each way: transport, outgoing, incoming, resume
//   PeershareAgent             the runtime: listener, offers, events, peers, trust, control API
//   peershare                  the executable (CLI)
//   peershare-mitm             test tool for the LAN lab (Tests/Tools): never installed or packaged
//   PeershareSpec              tests only: PROTOCOL.md's handshake from the document, libsodium primitives only
import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
]

let package = Package(
    name: "peershare",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "peershare", targets: ["peershare"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]
        ),
        .systemLibrary(
            name: "CAvahiClient",
            pkgConfig: "avahi-client",
            providers: [.apt(["libavahi-client-dev"])]
        ),
        // libavahi-core (headers from libavahi-core-dev) is not linked but opened at run time:
        // see Sources/CAvahiCoreLoader/include/avahi_core_loader.h for the symbol clash that
        // makes linking it next to libavahi-client abort.
        .target(name: "CAvahiCoreLoader", linkerSettings: [.linkedLibrary("dl")]),
        .target(name: "CPeershareSys"),
        .target(
            name: "SodiumKit",
            dependencies: ["CSodium"],
            swiftSettings: strict
        ),
        .target(
            name: "PeershareCore",
            dependencies: ["SodiumKit"],
            swiftSettings: strict
        ),
        .target(
            name: "PeershareDiscovery",
            dependencies: [
                "CAvahiClient",
                "CAvahiCoreLoader",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "PeersharePosix",
            dependencies: [
                "CPeershareSys",
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "PeershareTransfer",
            dependencies: [
                "PeershareCore",
                "SodiumKit",
                "PeersharePosix",
                "CPeershareSys",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "PeershareAgent",
            dependencies: [
                "PeershareCore",
                "PeershareTransfer",
                "PeersharePosix",
                "SodiumKit",
                "CPeershareSys",
                "PeershareDiscovery",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "peershare",
            dependencies: [
                "PeershareAgent",
                "PeershareTransfer",
                "PeershareCore",
                "PeershareDiscovery",
                "SodiumKit",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // The LAN lab's man-in-the-middle relay (Tests/lan/cases_mitm.sh). Not a product:
        // `make install` and the .deb take only the peershare binary.
        .executableTarget(
            name: "peershare-mitm",
            dependencies: [
                "PeershareCore",
                "SodiumKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Tests/Tools/peershare-mitm",
            swiftSettings: strict
        ),
        // docs/PROTOCOL.md's handshake written from the document with libsodium primitives
        // only, for the tests (conformance vectors, the hostile peer). Not a product.
        .target(
            name: "PeershareSpec",
            dependencies: ["SodiumKit"],
            path: "Tests/PeershareSpec",
            swiftSettings: strict
        ),
        .testTarget(
            name: "PeershareCoreTests",
            dependencies: ["PeershareCore", "PeershareSpec", "SodiumKit"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PeershareAgentTests",
            dependencies: [
                "PeershareAgent", "PeershareTransfer", "PeershareCore", "PeershareDiscovery", "SodiumKit", "CPeershareSys",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PeershareHostileTests",
            dependencies: ["PeershareCore", "PeershareSpec", "SodiumKit"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PeershareIntegrationTests",
            dependencies: ["PeershareCore", "CPeershareSys"],
            swiftSettings: strict
        ),
    ]
)
