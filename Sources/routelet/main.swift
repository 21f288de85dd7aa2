import Dataplane; print(BPFFS.defaultDirectory)
