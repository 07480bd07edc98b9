// libFuzzer target 3, "the path validator": PathRules.validatedComponents(ofUTF8:) and
// PathRules.validateSymlinkTarget(_:linkPath:).
//
// Input layout: a mode byte, then
//   mode even: the rest is a path (raw bytes, as from the wire);
//   mode odd:  a length byte n, n bytes of link path, the rest is the symlink target.
//
// Properties (a violation traps, which libFuzzer reports as a crash):
//   - every accepted path: 1...maxDepth components, none "", ".", "..", none containing "/"
//     or NUL, each within maxComponentBytes, no backslash or control character; the components
//     joined with "/" give back the input bytes; resolving them lexically from a root never
//     leaves it (the depth never drops below one component);
//   - validatedComponents(of:) on the decoded String agrees with the byte entry point;
//   - every accepted symlink target, resolved lexically from its link's parent directory,
//     stays inside the link's top-level directory, and the link itself is not top-level.
import PeershareCore

func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("fuzz_path property violated: \(message())") }
}

func hex(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
}

/// Checks the components of an accepted path; returns them.
func checkAcceptedPath(_ components: [String], input: [UInt8]) {
    check(!components.isEmpty && components.count <= PathRules.maxDepth, "component count \(components.count)")
    for component in components {
        let bytes = Array(component.utf8)
        check(!bytes.isEmpty, "empty component in \(hex(input))")
        check(bytes != [0x2E] && bytes != [0x2E, 0x2E], "dot component in \(hex(input))")
        check(!bytes.contains(0x2F), "slash inside a component in \(hex(input))")
        check(!bytes.contains(0), "NUL inside a component in \(hex(input))")
        check(!bytes.contains(0x5C), "backslash inside a component in \(hex(input))")
        check(bytes.count <= PathRules.maxComponentBytes, "component over NAME_MAX in \(hex(input))")
        check(!component.unicodeScalars.contains { PathRules.isControl($0) || PathRules.isBidiControl($0) },
              "control or bidi character accepted in \(hex(input))")
        check(bytes.last != 0x2E && bytes.last != 0x20, "trailing dot or space in \(hex(input))")
    }
    check(Array(components.joined(separator: "/").utf8) == input, "components do not join back to the input \(hex(input))")
    // Lexical resolution from a root: a stack of names; ".." pops. None may pop the root.
    var stack: [String] = []
    for component in components {
        if component == ".." {
            check(!stack.isEmpty, "path climbs above the root: \(hex(input))")
            stack.removeLast()
        } else if component != "." {
            stack.append(component)
        }
    }
    check(stack.count == components.count, "path does not stay beneath the root: \(hex(input))")
    // And RelativePath agrees.
    let path = try? RelativePath(validating: components.joined(separator: "/"))
    check(path?.components == components, "RelativePath disagrees")
}

func fuzzPath(_ bytes: [UInt8]) {
    let viaBytes = try? PathRules.validatedComponents(ofUTF8: bytes)
    if let text = String(validating: bytes, as: UTF8.self) {
        let viaString = try? PathRules.validatedComponents(of: text)
        check(viaString == viaBytes, "String and byte entry points disagree on \(hex(bytes))")
    } else {
        check(viaBytes == nil, "invalid UTF-8 accepted: \(hex(bytes))")
    }
    if let components = viaBytes { checkAcceptedPath(components, input: bytes) }
}

func fuzzSymlink(linkBytes: [UInt8], targetBytes: [UInt8]) {
    guard let linkText = String(validating: linkBytes, as: UTF8.self),
          let link = try? RelativePath(validating: linkText),
          let target = String(validating: targetBytes, as: UTF8.self) else { return }
    do {
        try PathRules.validateSymlinkTarget(target, linkPath: link)
    } catch {
        return
    }
    check(link.depth >= 2, "a top-level symlink was accepted: \(hex(linkBytes))")
    check(!targetBytes.isEmpty && targetBytes.first != 0x2F, "empty or absolute target accepted: \(hex(targetBytes))")
    check(!targetBytes.contains(0) && !targetBytes.contains(0x5C), "NUL or backslash in an accepted target")
    // Resolve lexically from the link's parent directory.
    var stack = Array(link.components.dropLast())
    let top = link.components[0]
    for part in targetBytes.split(separator: 0x2F, omittingEmptySubsequences: false) {
        let component = Array(part)
        check(!component.isEmpty, "empty component in an accepted target: \(hex(targetBytes))")
        if component == [0x2E, 0x2E] {
            stack.removeLast()
            check(!stack.isEmpty, "target climbs above the top-level directory: link \(hex(linkBytes)) target \(hex(targetBytes))")
        } else if component == [0x2E] {
            continue
        } else {
            check(component.count <= PathRules.maxComponentBytes, "target component over NAME_MAX")
            stack.append(String(decoding: component, as: UTF8.self))
        }
    }
    check(!stack.isEmpty && stack[0] == top, "target resolves outside \(top): link \(hex(linkBytes)) target \(hex(targetBytes))")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPathTarget(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    guard let mode = input.first else { return 0 }
    if mode & 1 == 0 {
        fuzzPath(Array(input.dropFirst()))
    } else {
        guard input.count >= 2 else { return 0 }
        let n = min(Int(input[1]), input.count - 2)
        let link = Array(input[2..<(2 + n)])
        let target = Array(input[(2 + n)...])
        fuzzSymlink(linkBytes: link, targetBytes: target)
        // The link path is a path from the wire as well.
        fuzzPath(link)
    }
    return 0
}
