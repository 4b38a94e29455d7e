// Package safetensors converts PyTorch checkpoints to safetensors files,
// and is the `safetensors` action that proposes them as a pull request.
//
// The converter reads any size in constant memory, at the speed of the disk,
// without running anything from the file. ConvertPath is what
// `hubbot convert SRC DST` runs; the Action does the same on a workspace.
//
// # Inputs
//
//   - The zip format of torch.save (PyTorch 1.6 and later), whatever the
//     archive folder is called ("archive/", "pytorch_model/", ...).
//   - The legacy format (before 1.6): consecutive pickles, then each
//     storage's size and bytes; storage views of very old files included.
//   - Pickle protocols 2 to 5, typed storages and torch 2.x's
//     _rebuild_tensor_v3 with an UntypedStorage and a dtype, which is how
//     float8, uint16/32/64 and float4 tensors are saved.
//   - Every dtype both formats know: BOOL, U8, I8, I16, U16, I32, U32, I64,
//     U64, F16, BF16, F32, F64, C64, the F8 types and F4 (whose safetensors
//     shape doubles the last dimension, as safetensors' torch binding does);
//     scalars, empty tensors, views with offsets and strides (non-contiguous
//     ones are written contiguous), the "state_dict" wrapper of training
//     checkpoints, parameters (with or without state) and tensor subclasses.
//   - Files: any .bin, .pt or .ckpt; a sharded checkpoint through its
//     *.bin.index.json; or a folder, with convert.py's rules: a transformers
//     pytorch_model.bin or pytorch_model.bin.index.json at the root if there
//     is one, else every *.bin.index.json set and every other .bin, .pt and
//     .ckpt at any depth (unet/diffusion_pytorch_model.bin becomes
//     unet/diffusion_pytorch_model.safetensors; pytorch_model.bin becomes
//     model.safetensors; pytorch_model-0000x-of-0000N.bin becomes
//     model-0000x-of-0000N.safetensors with model.safetensors.index.json).
//
// # How it works
//
// A checkpoint is a pickle that describes tensors and, next to it, the raw
// bytes of their storages. Only the pickle is decoded; the bytes are copied
// from file to file and never held in memory.
//
//  1. Recognise the file by its first bytes as torch.load does ("PK\x03\x04"
//     is a zip), and name what it is otherwise (empty, an LFS pointer, a tar
//     archive, a plain pickle, unknown bytes).
//  2. Zip: read the entry count from the end-of-central-directory record
//     before archive/zip allocates for it; refuse entry names that could
//     escape a folder, duplicate entries, entries outside the archive folder,
//     TorchScript archives and big-endian byte orders. data.pkl may be
//     deflated (it is read through the decompressor, bounded by its declared
//     size); storages must be stored, as torch always writes them, so that
//     their bytes can be copied as they are.
//  3. Decode the pickle with this package's own unpickler (pickle.go,
//     torch.go): binary opcodes only, globals resolved against an allowlist
//     (torch's tensor rebuild functions, storage classes and dtypes,
//     collections.OrderedDict, torch.Tensor and Parameter as types), REDUCE
//     defined only for those rebuild functions, which record a layout
//     instead of running. Anything else is refused with an error that names
//     the global or the opcode; a global that could run code (os.system,
//     builtins.eval, ...) is refused as unsafe. Nothing from the file is ever
//     called or imported.
//  4. Take the tensors as convert.py does: the top-level dict, or its
//     "state_dict" entry; every value must be a tensor. Check each view
//     against its storage with overflow-checked arithmetic.
//  5. Plan the output: drop aliases (below), order tensors as safetensors'
//     Rust writer does (dtype in descending enum order, then name by bytes),
//     write the header JSON compact with __metadata__ first, escaped as
//     serde_json does, padded with spaces to a multiple of 8. Apply
//     convert.py's size rule before writing anything: the output may be at
//     most 1% larger than the input.
//  6. Write the header, then each tensor: contiguous ones are read into
//     1 MiB buffers and written from them, the next chunk read by a second
//     goroutine while the current one is checksummed and written (the two
//     copies the kernel makes, from the input's page cache into a buffer
//     and from the buffer into the output's, run on two cores); non-
//     contiguous ones are gathered from a memory-mapped window of the input.
//  7. Verify in the same pass: a tensor that is a whole storage must have
//     the CRC32 that the zip directory records for the storage, computed
//     on the bytes in the buffer, which are the bytes written (this proves
//     the input intact and the copy exact with no second read); other
//     tensors are compared with the input byte for byte right after they
//     are written (element by element for gathered ones, with a different
//     walk), and their storages' CRC32 checked on the input. Then read the
//     header back with the format's reader rules (ReadHeader) and compare
//     it with the plan, and the file's size with the planned size.
//     For shards, the index is checked against the input index and written
//     back, and every tensor must be listed exactly once, in the shard whose
//     header holds it.
//  8. Everything is written to a temporary folder and renamed into place
//     only when every file passed; on any error nothing is left behind.
//
// Memory grows with the pickle (a few KiB per tensor), never with the size
// of the tensors: three 1 MiB buffers (two for the copy, one for the
// verification) and the window of a non-contiguous tensor. Every byte is
// read once from the input and written once, and the checksum rides along
// in the CPU cache; no file is synced (Options.Sync does that, for callers
// that need the files on disk before they return; the action uploads them
// at once and redoes the job after a crash). cp, the floor, makes one copy
// in the kernel (copy_file_range); hubbot cannot, because a tensor's bytes
// sit at unrelated offsets within a page in the input and in the output,
// where the kernel's copy is slower than two copies through a buffer, and
// the CRC32 must see the bytes (source.go has the measurements).
// bench/convert/run.sh compares it with cp and a torch pipeline, with peak
// RSS, from 0.5 GB to 20 GB.
//
// # Local and streamed conversions
//
// ConvertPath reads files on disk. The same conversion also runs on inputs
// that are never stored, read with HTTP range requests through
// hubclient.RemoteFile (pinned to one commit and one ETag, reopened where
// a connection broke, 5xx retried, a range answered with 200 or refused
// is an error):
//
//   - ConvertRemote (`hubbot convert hf://ns/name[@rev] DST`) writes the
//     outputs to a local folder, exactly as ConvertPath would.
//   - The action streams from the Hub back to the Hub (option stream:
//     "auto", the default, when downloads and outputs would not fit on
//     the workspace's disk; "always"; "never"). Pass 1 converts every file
//     into hashes, with every check of the local path (refusals happen
//     here, before anything is uploaded), and records each output's size,
//     sha256 and the CRC32 of every MiB. The proposal's files are then
//     actions.Stream values: the publisher uploads each by sections (LFS
//     basic or multipart parts, in parallel, retried), and every section is
//     produced again from the inputs (pass 2) and checked against pass 1 a
//     MiB at a time before any of its bytes is handed out, so a checkpoint
//     that changed between the passes, or a bad read, fails the upload
//     instead of uploading corrupt bytes. One commit at the end opens the
//     pull request: an interrupted upload opens none.
//
// Both paths produce byte-identical files (the tests compare them through
// hubtest). The streaming path uses no disk and constant memory, and moves
// the checkpoint's bytes twice in and once out over the network; the local
// path moves them once in and once out but needs about twice the model's
// size on disk (bench/convert/stream.sh compares them).
//
// # Limits
//
// Limits bounds what an untrusted file may cost: the size of a pickle, the
// memory its decoding may allocate in total (charged before each
// allocation, with generous estimates; the fuzz tests check that the Go heap
// never grows by more than what was charged), nesting depth, stack size,
// memo entries, tensors, dimensions, zip entries, the size of an index, and
// the memory used to gather a non-contiguous tensor where files cannot be
// memory-mapped. Every length in the pickle is checked against the bytes
// that remain before anything is allocated, so a 20-byte pickle declaring a
// 2^60-byte string is refused at once.
//
// Refusals are errors that wrap one of ErrNotCheckpoint, ErrNotTensors,
// ErrUnsafe, ErrMalformed, ErrUnsupported, ErrLimit, ErrSizeRule or
// ErrVerify, with a one-line message that names the file, and where useful
// the byte offset in the pickle, the tensor or the zip entry. Skippable
// tells the files that merely hold no tensors, which a folder conversion
// reports and skips.
//
// Not converted, on purpose: compressed storages, big-endian checkpoints,
// TorchScript archives, the tar format of torch before 0.4, complex128 and
// quantized tensors (no safetensors dtype), tensors with backward hooks or
// with the conj or neg bit set, and any checkpoint whose pickle refers to a
// global outside the allowlist (for example a Lightning checkpoint that
// pickles its hyper-parameters as Python objects) - which is also what
// torch.load(weights_only=True), used by convert.py, refuses. The pickled
// form of _rebuild_tensor_v3 follows torch's serialization code; it was
// tested with hand-built files, not with files written by torch 2.x.
//
// # Where hubbot differs from convert.py
//
// The reference is safetensors' bindings/python/convert.py, which the
// safetensors/convert Space runs. hubbot differs deliberately:
//
//   - Aliases. convert.py groups names by storage, splits the group by
//     overlapping byte ranges, keeps one name that covers the whole storage
//     and drops the others, recording each as removed -> kept in
//     __metadata__. A partial view is then dropped although it is not the
//     kept tensor (its metadata entry claims an equality that does not
//     hold), and a group where no name covers the storage is an error
//     ("no suitable name to keep"). hubbot removes a name only when its
//     view is identical to the kept one (same bytes, dtype, shape and
//     strides) and records it the same way; every other view is written as
//     its own copy (listed in FileResult.Overlapping), so no tensor is lost;
//     the 1% size rule still bounds the duplication.
//   - Which tied name is kept. Without transformers, convert.py keeps the
//     alphabetically first name, so a LLaMA-style tie keeps lm_head.weight
//     and drops model.embed_tokens.weight. hubbot drops the names that
//     transformers declares as tied (DefaultDiscardNames: lm_head.weight and
//     the like), which is what convert.py does when transformers is
//     installed; Options.DiscardNames changes the list.
//   - __metadata__ keys are sorted; the Rust writer's order is arbitrary
//     when there is more than one key.
//   - The sharded index lists only the tensors written (aliases are not
//     listed, as their shard does not hold them) and metadata.total_size is
//     recomputed; convert.py copies the old index with stale entries and
//     the old total. It is written like transformers writes indexes (sorted
//     keys, two-space indent). hubbot also checks that the input index and
//     the shards agree.
//   - Sharded sets other than transformers' are converted with their index,
//     keeping their stem (diffusers loads
//     diffusion_pytorch_model.safetensors.index.json; convert.py's
//     "pytorch_model" -> "model" renaming would produce diffusion_model...).
//   - .pt files are included in the generic rule with .bin and .ckpt;
//     the training state that transformers' Trainer and accelerate save
//     next to the weights (optimizer.pt, optimizer.bin, scheduler.pt,
//     scheduler.bin, scaler.pt) is skipped by name rather than downloaded.
//   - A checkpoint counts as converted when its own safetensors
//     counterpart exists; convert.py skips a repository with any
//     .safetensors file (an adapter, say).
//   - Verification compares bytes (CRC32 or direct comparison) instead of
//     torch.equal, which fails on any NaN and ignores the sign of zero.
//   - In a folder, a file that holds no tensors is skipped and reported, as
//     convert.py does; but a checkpoint that is refused for any other reason
//     (hostile, corrupt, unsupported) fails the whole conversion, where
//     convert.py would skip it and commit the rest. A pull request is never
//     a partial set.
//   - A checkpoint without tensors is refused rather than written as an
//     empty file.
//
// Like convert.py, ties between tensors in different shards are not
// detected (each shard is converted on its own, so both copies are kept).
//
// # The action
//
// Options (`[actions.with]`): max_size ("20GB", "500MiB": repositories whose
// checkpoints to convert add up to more are skipped), include and exclude
// (globs matched against repo-relative paths of checkpoint files or index
// files; "*" stays within a folder, "**" spans folders), stream ("auto",
// "always", "never"; see above). The action skips,
// with a reason, repositories that have no checkpoint, whose checkpoints
// all have safetensors counterparts, or for which a hubbot conversion pull
// request already exists on the current head (PriorProposals). It checks
// free disk space for downloads and outputs; on the local path it fetches
// only the checkpoint files (LFS pointers, four at a time) and converts into
// a hidden folder inside the workspace (removed with it); on the streaming
// path it reads them through the workspace's actions.RangeFetcher. It
// returns every file, shards and index, as one Proposal titled
// ProposalTitle, or a failure with no proposal.
package safetensors
