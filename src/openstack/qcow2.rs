//! A tiny, valid, empty qcow2 image made in memory (what `qemu-img create -f
//! qcow2 x.img 16M` writes), so `verify` uploads a real image without downloads.

const CLUSTER: usize = 1 << 16;

/// An empty qcow2 (version 2) of `virtual_size` bytes (at most 512 MiB: one L2 table).
pub fn empty(virtual_size: u64) -> Vec<u8> {
    let mut img = vec![0u8; 3 * CLUSTER + 8];
    let put32 =
        |img: &mut Vec<u8>, at: usize, v: u32| img[at..at + 4].copy_from_slice(&v.to_be_bytes());
    let put64 =
        |img: &mut Vec<u8>, at: usize, v: u64| img[at..at + 8].copy_from_slice(&v.to_be_bytes());
    put32(&mut img, 0, 0x5146_49fb); // "QFI\xfb"
    put32(&mut img, 4, 2); // version
    put32(&mut img, 20, 16); // cluster_bits: 64 KiB clusters
    put64(&mut img, 24, virtual_size);
    put32(&mut img, 36, 1); // l1_size
    put64(&mut img, 40, 3 * CLUSTER as u64); // l1_table_offset
    put64(&mut img, 48, CLUSTER as u64); // refcount_table_offset
    put32(&mut img, 56, 1); // refcount_table_clusters
    // the refcount table points at one refcount block, which counts the
    // header, the table itself, the block and the L1 table once each
    put64(&mut img, CLUSTER, 2 * CLUSTER as u64);
    for cluster in 0..4 {
        img[2 * CLUSTER + cluster * 2..2 * CLUSTER + cluster * 2 + 2]
            .copy_from_slice(&1u16.to_be_bytes());
    }
    img
}

#[cfg(test)]
mod tests {
    #[test]
    fn empty_image_has_the_expected_size() {
        let img = super::empty(16 << 20);
        assert_eq!(img.len(), 196_616);
        assert_eq!(&img[..4], b"QFI\xfb");
        assert_eq!(img[24..32], (16u64 << 20).to_be_bytes());
    }

    /// The image as the real tool sees it.
    #[test]
    #[ignore = "needs qemu-img (qemu-utils): scripts/test runs it"]
    fn qemu_img_accepts_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.qcow2");
        std::fs::write(&path, super::empty(16 << 20)).unwrap();
        let qemu_img = |args: &[&str]| {
            let out = std::process::Command::new("qemu-img")
                .args(args)
                .arg(&path)
                .output()
                .expect("qemu-img (apt-get install qemu-utils)");
            assert!(
                out.status.success(),
                "qemu-img {args:?}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            out.stdout
        };
        qemu_img(&["check", "-f", "qcow2"]);
        let v: serde_json::Value =
            serde_json::from_slice(&qemu_img(&["info", "--output=json"])).unwrap();
        assert_eq!(v["format"], "qcow2");
        assert_eq!(v["virtual-size"], 16 << 20);
    }
}
