#!/bin/bash
# Prepared GPU job for issue 3 (not yet run: no device was lent when it was written).
# Needs, on the device machine, /tmp/stash/{mpA,mpB} (training/transfer_weights.py pack ... --parts 2,
# one part per upload call) and /tmp/stash/physician-reviews.jsonl.gz; .devcarry/base carried.
# phase 1: all-mpnet-base-v2 teachers (full train; doctor folds 0/2 and 1/2), in parallel
# phase 2: MiniLM students: control (no teacher) and distilled from out-of-fold teacher logits
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false OMP_NUM_THREADS=4
for f in /tmp/stash/mpA/weights.part0 /tmp/stash/mpB/weights.part1 /tmp/stash/physician-reviews.jsonl.gz; do
  [ -f $f ] || { echo "MISSING $f (machine was replaced)"; exit 3; }
done
[ -f /tmp/mpnet/model.safetensors ] || python3 training/transfer_weights.py unpack /tmp/mpnet /tmp/stash/mpA /tmp/stash/mpB
D=/tmp/stash/physician-reviews.jsonl.gz
T="--config training/config.yaml --data $D $EXTRA --no-baseline --no-save --base /tmp/mpnet --set train.lr=3.0e-5 --set train.epochs=3 --set model.base_name=sentence-transformers/all-mpnet-base-v2"
python3 training/train.py $T --out /tmp/Tfull --predict-out /tmp/Tfull/p.npz --max-minutes ${TMAX:-3.9} > /tmp/Tfull.log 2>&1 &
python3 training/train.py $T --out /tmp/T0 --holdout-fold 0/2 --predict-out /tmp/T0/p.npz --max-minutes ${TMAX:-3.9} > /tmp/T0.log 2>&1 &
python3 training/train.py $T --out /tmp/T1 --holdout-fold 1/2 --predict-out /tmp/T1/p.npz --max-minutes ${TMAX:-3.9} > /tmp/T1.log 2>&1 &
wait
for x in Tfull T0 T1; do grep -E "epoch \{|MODEL|holdout|Error|error" /tmp/$x.log | sed "s/^/$x /" | cut -c1-300; done
S="--config training/config.yaml --data $D $EXTRA --no-baseline --max-minutes ${SMAX:-3.6} --set train.epochs=3"
python3 training/train.py $S --out /tmp/S0 > /tmp/S0.log 2>&1 &
if [ -f /tmp/T0/p.npz ] && [ -f /tmp/T1/p.npz ]; then
  TT=/tmp/T0/p.npz,/tmp/T1/p.npz
  python3 training/train.py $S --out /tmp/S1 --teacher $TT --set train.distill_alpha=0.5 > /tmp/S1.log 2>&1 &
  python3 training/train.py $S --out /tmp/S2 --teacher $TT --set train.distill_alpha=0.8 > /tmp/S2.log 2>&1 &
fi
wait
for x in S0 S1 S2; do grep -E "epoch \{|MODEL|teacher|Error|error" /tmp/$x.log | sed "s/^/$x /" | cut -c1-300; done
mkdir -p /tmp/res
for x in Tfull T0 T1 S0 S1 S2; do [ -d /tmp/$x ] && { cp /tmp/$x.log /tmp/res/$x.log; cp /tmp/$x/metrics.json /tmp/res/$x.metrics.json; cp /tmp/$x/p.npz /tmp/res/$x.p.npz; } 2>/dev/null; done
(cd /tmp/res && tar czf $OUT/results.tgz .)
best=$(python3 - <<'PY'
import json, os
s = {}
for x in ("S0", "S1", "S2"):
    f = f"/tmp/{x}/metrics.json"
    if os.path.exists(f) and os.path.isdir(f"/tmp/{x}/torch"):
        s[x] = json.load(open(f))["model"]["validation"]["decision_rule"]["macro_f1"]
print(max(s, key=s.get) if s else "")
PY
)
echo "BEST student by validation: $best"
[ -n "$best" ] && (cd /tmp/$best && tar cf - torch train.log | split -b 15M - $OUT/torchtar.$best.part-)
ls -la $OUT
