#!/usr/bin/env python3
"""Peer of Collabo's claims import, for `collabo bench claims`: a plain Python UKE
reducer. It splits each line on commas, decodes CP932, looks the codes of SY/SI/IY
records up in the group tables shipped in crates/claims/data/, and keeps a set of
facts (insurer, 記号, 番号, 生年月日, service month, group). No matching, no storing:
it does strictly less than Collabo, so the ratio is a floor.

Usage: uke_reduce.py DATA_DIR FILE.UKE...   (prints claims and facts)
"""
import csv
import os
import sys


def load_groups(data):
    diagnosis, procedure, drug = {}, {}, {}
    with open(os.path.join(data, "shobyomei_target_conditions.csv"), encoding="utf-8") as f:
        for row in csv.DictReader(f):
            diagnosis[row["傷病名コード"]] = row["conditions"]
    with open(os.path.join(data, "followup_procedure_codes.csv"), encoding="utf-8") as f:
        for row in csv.DictReader(f):
            procedure[row["診療行為コード"]] = row["target"] + "_exam"
    with open(os.path.join(data, "diabetes_drug_codes.csv"), encoding="utf-8") as f:
        for row in csv.DictReader(f):
            drug[row["医薬品コード"]] = "diabetes_drug"
    return diagnosis, procedure, drug


def reduce(path, groups):
    diagnosis, procedure, drug = groups
    facts = set()
    claims = 0
    month = birth = None
    insurer = symbol = number = None
    with open(path, encoding="cp932", errors="replace", newline="") as f:
        for line in f:
            fields = line.rstrip("\r\n\x1a").split(",")
            rec = fields[0]
            if rec == "RE":
                claims += 1
                month, birth = fields[3], fields[6]
                insurer = symbol = number = None
            elif rec == "HO":
                insurer, symbol, number = fields[1], fields[2], fields[3]
            elif rec == "SY":
                g = diagnosis.get(fields[1])
                if g:
                    facts.add((insurer, symbol, number, birth, month, g))
            elif rec == "SI":
                g = procedure.get(fields[3])
                if g:
                    facts.add((insurer, symbol, number, birth, month, g))
            elif rec == "IY":
                g = drug.get(fields[3]) or drug.get(fields[2])
                if g:
                    facts.add((insurer, symbol, number, birth, month, g))
    return claims, facts


def main():
    groups = load_groups(sys.argv[1])
    claims = facts = 0
    for path in sys.argv[2:]:
        c, f = reduce(path, groups)
        claims += c
        facts += len(f)
    print(f"claims {claims} facts {facts}")


if __name__ == "__main__":
    main()
