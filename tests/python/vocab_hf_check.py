"""Reference for tests/cli/vocab.test.ts: token ids and summed log-probs of texts under an
extended model folder, loaded by Hugging Face transformers (AutoTokenizer + AutoModelForCausalLM)."""
import json
import sys

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

folder = sys.argv[1]
tok = AutoTokenizer.from_pretrained(folder)
model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
out = {}
for text in sys.argv[2:]:
    ids = tok(text, return_tensors="pt").input_ids
    with torch.no_grad():
        logp = torch.log_softmax(model(ids).logits[0, :-1].double(), -1)
    out[text] = {"ids": ids[0].tolist(), "logprob": logp.gather(1, ids[0, 1:, None]).sum().item()}
print(json.dumps(out))
