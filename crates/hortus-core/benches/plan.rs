//! Plan time for meshes of 10 to 2000 nodes, and one host's view for 500 to
//! 5000 nodes (see BENCHMARKS.md).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use hortus_core::inventory::PortScheme;
use hortus_core::{build_host_plan, build_plan, Inventory};

fn mesh(n: u32) -> Inventory {
    let mut text = String::from("[mesh]\nport_scheme = \"xor\"\nbase_port = 40000\n");
    for id in 0..n {
        let mut key = [0u8; 32];
        key[..4].copy_from_slice(&id.to_le_bytes());
        key[31] = 0x55;
        let key = base64_key(&key);
        let nat = id % 5 == 3;
        let censored = id % 7 == 6;
        text += &format!(
            "[nodes.node{id}]\nid = {id}\npublic_key = \"{key}\"\nendpoints = [\"192.0.2.{}\"]\nnat = {nat}\ncensored = {censored}\nregion = \"r{}\"\n",
            id % 250 + 1,
            id % 3
        );
    }
    let inv = Inventory::from_toml_str(&text).unwrap();
    assert_eq!(inv.mesh.port_scheme, PortScheme::Xor);
    inv
}

fn base64_key(bytes: &[u8; 32]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("build_plan");
    group.sample_size(10);
    for n in [10, 50, 250, 500, 1000, 2000] {
        let inventory = mesh(n);
        group
            .bench_with_input(BenchmarkId::from_parameter(n), &inventory, |b, inv| b.iter(|| build_plan(inv).unwrap()));
    }
    group.finish();
    let mut group = c.benchmark_group("build_host_plan");
    group.sample_size(10);
    for n in [500, 2000, 5000] {
        let inventory = mesh(n);
        let host = format!("node{}", n / 2);
        group.bench_with_input(BenchmarkId::from_parameter(n), &inventory, |b, inv| {
            b.iter(|| build_host_plan(inv, &host).unwrap())
        });
    }
    group.finish();
    let mut group = c.benchmark_group("plan_to_json");
    group.sample_size(10);
    for n in [250, 1000] {
        let plan = build_plan(&mesh(n)).unwrap();
        group.bench_with_input(BenchmarkId::from_parameter(n), &plan, |b, plan| {
            b.iter(|| serde_json::to_vec_pretty(plan).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
