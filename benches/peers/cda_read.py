#!/usr/bin/env python3
"""Peer of Collabo's checkup import, for `collabo bench checkups`: an lxml reader of
MHLW 特定健診 archives (zip of HL7 CDA R2 documents). It parses every DATA/*.xml member
and pulls each observation's code and value; parse only, no matching, no storing.

Usage: cda_read.py ARCHIVE.zip...   (prints documents and observations)
lxml is installed with pip if missing.
"""
import subprocess
import sys
import zipfile

try:
    from lxml import etree
except ImportError:  # install once, then carry on
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--break-system-packages", "lxml"],
        check=True,
    )
    from lxml import etree

NS = "{urn:hl7-org:v3}"


def read(path):
    documents = observations = 0
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if not name.lower().endswith(".xml") or "/DATA/" not in "/" + name.upper():
                continue
            root = etree.fromstring(z.read(name))
            if root.tag != NS + "ClinicalDocument":
                continue
            documents += 1
            for obs in root.iter(NS + "observation"):
                code = obs.find(NS + "code")
                value = obs.find(NS + "value")
                if code is not None and value is not None:
                    observations += 1
    return documents, observations


def main():
    documents = observations = 0
    for path in sys.argv[1:]:
        d, o = read(path)
        documents += d
        observations += o
    print(f"documents {documents} observations {observations}")


if __name__ == "__main__":
    main()
