"""`make check-protos` (scripts/check-protos.sh) against a copy of the tree: it passes on the committed output and
fails, naming the stale file, when a proto comment changed and the generated Swift was not regenerated."""
import pathlib
import shutil
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
COPIED = ["Protos", "scripts", "Sources/CBankGatewayProtos", "Sources/GatewayWire/Generated"]


def copy_tree(tmp_path):
    for rel in COPIED:
        shutil.copytree(ROOT / rel, tmp_path / rel)
    return tmp_path


def check(tree):
    return subprocess.run(["scripts/check-protos.sh"], cwd=tree, capture_output=True, text=True)


def test_committed_generated_code_is_up_to_date(tmp_path):
    result = check(copy_tree(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout


def test_stale_generated_swift_fails_naming_the_file(tmp_path):
    tree = copy_tree(tmp_path)
    proto = tree / "Protos/bankgw/v1/bankgw.proto"
    text = proto.read_text()
    assert "// 1 .. the bank's per-charge limit" in text
    proto.write_text(text.replace("// 1 .. the bank's per-charge limit", "// 1 .. the bank's per-charge limit, in yen"))
    # Regenerate only the protoc-c output, as someone running protoc-c by hand would: the Swift stays stale.
    fresh = tmp_path / "fresh"
    subprocess.run(["scripts/gen-protos.sh", str(fresh / "c"), str(fresh / "swift")], cwd=tree, check=True)
    shutil.rmtree(tree / "Sources/CBankGatewayProtos")
    shutil.copytree(fresh / "c", tree / "Sources/CBankGatewayProtos")
    shutil.copy(ROOT / "Sources/CBankGatewayProtos/include/module.modulemap",
                tree / "Sources/CBankGatewayProtos/include/module.modulemap")
    result = check(tree)
    assert result.returncode == 1
    assert "Sources/GatewayWire/Generated/bankgw.v1.swift is stale" in result.stderr
    assert "CBankGatewayProtos" not in result.stderr
    # After `make protos` it passes again.
    subprocess.run(["scripts/gen-protos.sh"], cwd=tree, check=True)
    assert check(tree).returncode == 0


def test_a_hand_added_file_in_generated_fails(tmp_path):
    tree = copy_tree(tmp_path)
    (tree / "Sources/GatewayWire/Generated/Extra.swift").write_text("// hand-written\n")
    result = check(tree)
    assert result.returncode == 1
    assert "Generated/Extra.swift is not generated from Protos/" in result.stderr
