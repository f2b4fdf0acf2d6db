"""Corpora in TextVR's on-disk layout: the reader/writer for that layout (textvr) and the generated
SynthTextVR corpus (synth)."""
