import Foundation
import XCTest
@testable import NablaTensor
@testable import NablaIO
import NablaTestSupport

/// Atomic writes refuse what is not a regular file, follow links, and clean up after killed
/// writers; directory locks admit one holder and name it.
final class AtomicFileTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-atomic-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func testNonRegularDestinationsAreRefusedAndLeftAlone() throws {
        let fifo = directory.appendingPathComponent("fifo")
        XCTAssertEqual(mkfifo(fifo.path, 0o644), 0)
        let subdirectory = directory.appendingPathComponent("sub")
        try FileManager.default.createDirectory(at: subdirectory, withIntermediateDirectories: false)
        for (url, kind) in [(fifo, "is a FIFO"), (subdirectory, "is a directory"), (URL(fileURLWithPath: "/dev/full"), "is a device"),
                            (URL(fileURLWithPath: "/dev/null"), "is a device")] {
            assertNablaError(try AtomicFile.write(Data("x".utf8), to: url), "\(url.path): \(kind), not a regular file; refusing to replace it", kind: .io)
            assertNablaError(try AtomicFile.checkReplaceable(url), kind)
        }
        var status = stat()
        XCTAssertEqual(lstat(fifo.path, &status), 0)
        XCTAssertEqual(status.st_mode & S_IFMT, S_IFIFO, "the FIFO was replaced")
        XCTAssertEqual(lstat("/dev/full", &status), 0)
        XCTAssertEqual(status.st_mode & S_IFMT, S_IFCHR)
    }

    func testASymbolicLinkIsFollowedToTheFileItNames() throws {
        let target = directory.appendingPathComponent("weights.safetensors")
        let link = directory.appendingPathComponent("latest.safetensors")
        try Data("old".utf8).write(to: target)
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: "weights.safetensors")
        try AtomicFile.write(Data("new".utf8), to: link)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link.path), "weights.safetensors", "the link itself was replaced")
        XCTAssertEqual(try Data(contentsOf: target), Data("new".utf8))
        // A link to a device is refused like the device.
        let deviceLink = directory.appendingPathComponent("device")
        try FileManager.default.createSymbolicLink(atPath: deviceLink.path, withDestinationPath: "/dev/full")
        assertNablaError(try AtomicFile.write(Data("x".utf8), to: deviceLink), "is a device")
        // A loop of links is one line too.
        let a = directory.appendingPathComponent("a"), b = directory.appendingPathComponent("b")
        try FileManager.default.createSymbolicLink(atPath: a.path, withDestinationPath: b.path)
        try FileManager.default.createSymbolicLink(atPath: b.path, withDestinationPath: a.path)
        assertNablaError(try AtomicFile.write(Data("x".utf8), to: a), "too many levels of symbolic links")
    }

    /// Temporaries of dead writers go, those of live ones (and other files) stay.
    func testStaleTemporariesOfDeadProcessesAreRemoved() throws {
        let dead = deadProcessID()
        let names = [".checkpoint.safetensors.tmp-\(dead)-1", ".model.safetensors.tmp-\(dead)-77",
                     ".checkpoint.safetensors.tmp-\(getppid())-2", ".notes.txt", "checkpoint.safetensors"]
        for name in names { try Data("x".utf8).write(to: directory.appendingPathComponent(name)) }
        // A write sweeps the leftovers of its own destination only.
        try AtomicFile.write(Data("new".utf8), to: directory.appendingPathComponent("checkpoint.safetensors"))
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: directory.path)),
                       Set(names).subtracting([names[0]]))
        AtomicFile.removeStaleTemporaries(in: directory)
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: directory.path)),
                       Set([names[2], names[3], names[4]]))
    }

    func testADirectoryLockAdmitsOneHolderAndNamesIt() throws {
        let run = directory.appendingPathComponent("run/nested")
        let first = try DirectoryLock.acquire(run, purpose: "checkpoint directory")
        XCTAssertTrue(FileManager.default.fileExists(atPath: run.appendingPathComponent(DirectoryLock.fileName).path))
        assertNablaError(try DirectoryLock.acquire(run, purpose: "log directory"),
                         "\(run.path): the log directory is in use by another nabla run (process \(getpid())); wait for it to finish or choose another directory",
                         kind: .io)
        first.release()
        let second = try DirectoryLock.acquire(run, purpose: "checkpoint directory")
        second.release()
        second.release()  // twice is harmless
        // A directory that cannot be created is one line with the reason.
        let blocker = directory.appendingPathComponent("file")
        try Data().write(to: blocker)
        assertNablaError(try DirectoryLock.acquire(blocker.appendingPathComponent("run"), purpose: "checkpoint directory"),
                         "cannot create the checkpoint directory (Not a directory)")
        assertNablaError(try DirectoryLock.acquire(URL(fileURLWithPath: "/proc/nabla-run"), purpose: "log directory"),
                         "/proc/nabla-run: cannot create the log directory (")
    }

    /// A process id that no process has: a child that has exited and been reaped.
    private func deadProcessID() -> pid_t {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try? process.run()
        process.waitUntilExit()
        return process.processIdentifier
    }
}
