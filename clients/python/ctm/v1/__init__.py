# Generated stubs for ctm.v1 (scripts/gen-clients.sh); this file is kept by the generator.
