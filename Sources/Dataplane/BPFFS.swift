import CLibbpf
#if canImport(Glibc)
import Glibc
#endif

/// The BPF filesystem that pins live on.
public enum BPFFS {
    /// routelet's default pin directory.
    public static let defaultDirectory = "/sys/fs/bpf/routelet"

    static let magic: UInt = 0xcafe_4a11

    /// Whether `path` is on a bpffs mount.
    public static func isBPFFS(_ path: String) -> Bool {
        var info = statfs()
        return statfs(path, &info) == 0 && UInt(info.f_type) == magic
    }

    /// Creates `directory` (and its parents) on a bpffs, mounting one at
    /// `directory` itself when none is mounted on its path.
    public static func prepare(_ directory: String) throws(BPFError) {
        // Nothing can be created under an unmounted /sys/fs/bpf (it is a
        // plain sysfs directory then): mount the usual bpffs first.
        if directory.hasPrefix("/sys/fs/bpf/") && !isBPFFS("/sys/fs/bpf") {
            try mountBPFFS(at: "/sys/fs/bpf")
        }
        var path = ""
        for component in directory.split(separator: "/") {
            path += "/\(component)"
            if mkdir(path, 0o700) != 0 && errno != EEXIST {
                throw BPFError(operation: "mkdir", object: path, errno: errno)
            }
        }
        if !isBPFFS(directory) { try mountBPFFS(at: directory) }
    }

    static func mountBPFFS(at directory: String) throws(BPFError) {
        guard mount("bpf", directory, "bpf", 0, nil) == 0 else {
            throw BPFError(operation: "mount -t bpf", object: directory, errno: errno,
                           hint: "routelet needs a BPF filesystem for its pins (run as root, or mount one: mount -t bpf bpf \(directory))")
        }
    }
}
