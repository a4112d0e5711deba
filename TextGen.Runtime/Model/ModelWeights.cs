using TextGen.Runtime.Cells;
using TextGen.Runtime.Format;
using TextGen.Runtime.Kernels;

namespace TextGen.Runtime.Model;

/// <summary>
/// The immutable weights of a model, decoded once at load: llama2.c's <c>TransformerWeights</c>. Shared by every
/// generator, never written after construction.
/// </summary>
internal sealed class ModelWeights
{
    /// <summary>
    /// Largest first-layer input table built for embedding models: 4 Mi floats (16 MB). Above it (huge vocabularies)
    /// the first layer multiplies the embedding row by W_ih at every step instead.
    /// </summary>
    public const int DefaultMaxInputTableFloats = 4 << 20;

    /// <summary>
    /// f16 models whose matrices take at most this many bytes as f32 (1 MiB) are widened to f32 at load on every
    /// machine. Such weights stay in a core's L2 or close to it, where a step is bound by the work per weight, not by
    /// the bytes read, and decoding a half costs more than the bytes it saves: a 2×128 LSTM (0.83 MB as f32) stepped
    /// 1.37× faster as f32 than as f16 on an AVX-512 Xeon and 1.10× on an AVX2 EPYC (docs/performance-history.md).
    /// The file, the download, stays f16; the bits are the same either way.
    /// </summary>
    public const long WidenedF16MaxBytes = 1 << 20;

    private ModelWeights(ModelArchitecture architecture, float[] embedding, float[] inputTable, LayerWeights[] layers, WeightRows headWeight, float[] headBias)
    {
        Architecture = architecture;
        Embedding = embedding;
        InputTable = inputTable;
        Layers = layers;
        HeadWeight = headWeight;
        HeadBias = headBias;
        MatrixBytesPerStep = layers.Sum(l => l.InputWeights.StoredBytes + l.HiddenWeights.StoredBytes) + headWeight.StoredBytes;
    }

    public ModelArchitecture Architecture { get; }

    public CellKind Cell => Architecture.Cell;

    public int HiddenSize => Architecture.HiddenSize;

    public int GateRows => Architecture.GateCount * Architecture.HiddenSize;

    public float[] Embedding { get; }     // (V, E) decoded to f32 (a row lookup reads E values, whatever the dtype); empty in one-hot mode or when the input table replaces it

    public float[] InputTable { get; }    // (V, G*H) row t = W_ih·x(t) + Bias of layer 0, so layer 0's input term is one row; empty when not built

    public LayerWeights[] Layers { get; } // (layers)

    public WeightRows HeadWeight { get; } // (V, H) in the file's dtype

    public float[] HeadBias { get; }      // (V)

    /// <summary>Bytes of the matrices one step reads, as kept in memory: every layer's W_ih (unless the input table holds it) and W_hh, and the head.</summary>
    public long MatrixBytesPerStep { get; }

    /// <summary>
    /// Whether the matrices take at most half of this core's L2 (<see cref="CoreCache"/>), so that one step leaves them
    /// cached for the next even beside the activations and whatever else the caller runs: the 2-layer LSTMs up to hidden
    /// 128 in f32 on a CPU with 2 MB of L2. False where the L2's size is unknown.
    /// </summary>
    public bool StaysInCache => MatrixBytesPerStep <= CoreCache.L2Bytes / 2;

    /// <summary>The kernel settings for a caller of these weights on <paramref name="path"/>: prefetching only weights that do not stay in cache.</summary>
    public KernelMode ModeFor(KernelPath path, bool strict) => new(path, strict, prefetchesWeights: !StaysInCache);

    /// <summary>Layer 0's input term for <paramref name="token"/>.</summary>
    public LayerInput FirstLayerInput(int token)
    {
        if (InputTable.Length > 0) return new LayerInput(default, default, InputTable.AsSpan(token * GateRows, GateRows));
        int e = Architecture.EmbeddingSize;
        return new LayerInput(Layers[0].InputWeights, Embedding.AsSpan(token * e, e), Layers[0].Bias);
    }

    /// <summary>
    /// Decodes the tensors of <paramref name="file"/>, which its constructor has already validated against the
    /// architecture. <paramref name="widenF16"/> keeps f16 matrices as f32, exactly their decoded values: the
    /// <see cref="KernelPath.Vector"/> and scalar kernels run about ten times faster so, at f32's memory, and small
    /// models do everywhere (<see cref="WidenedF16MaxBytes"/>). q8 quants with one scale per row in every matrix
    /// (<see cref="ModelFile.HasRowScaledQ8"/>, what the exporter writes) are kept for <see cref="RowQ8MatrixVector"/>,
    /// a byte per weight in rows padded to 64 bytes (no padding at the shipped model's widths; a row of 65 takes 128);
    /// others in <paramref name="q8Layout"/>, the one the block kernels that will read them want
    /// (<see cref="KernelMode.BestQ8Layout"/>), at q8's memory; f16 halves in block pairs
    /// with <paramref name="pairHalves"/> (<see cref="WeightRows.PairedHalves"/>, the 512-bit kernel's layout) where every
    /// matrix a step multiplies has rows of whole pairs (<see cref="RowsArePairs"/>). The results are the same bits either
    /// way: the f16 kernels compute exactly the f32 kernels on
    /// the decoded weights, and q8's integer sums do not depend on the layout.
    /// </summary>
    public static ModelWeights FromFile(ModelFile file, int maxInputTableFloats, Q8Layout q8Layout, bool widenF16, LoadProfile? profile = null, bool pairHalves = false)
    {
        long phaseStart = profile.Start();
        ModelArchitecture a = file.Architecture;
        pairHalves = pairHalves && RowsArePairs(file, HasInputTable(a, maxInputTableFloats)); // all f16 matrices or none, so every product reads one layout
        bool rowScaledQ8 = file.HasRowScaledQ8; // all q8 matrices or none, so every product runs one kernel
        float[] Values(string name) => file.GetTensor(name).Float32Values();
        WeightRows Matrix(string name)
        {
            ModelTensor tensor = file.GetTensor(name);
            return widenF16 && tensor.DType == TensorDType.F16
                ? WeightRows.FromFloats(tensor.Float32Storage(), tensor.Shape[0], tensor.Shape[1])
                : WeightRows.FromTensor(tensor, q8Layout, pairHalves, rowScaledQ8);
        }

        int hidden = a.HiddenSize;
        int gateRows = a.GateCount * hidden;
        var layers = new LayerWeights[a.Layers];
        for (int l = 0; l < a.Layers; l++)
        {
            float[] biasIh = Values(ModelArchitecture.BiasIhName(l));
            float[] biasHh = Values(ModelArchitecture.BiasHhName(l));
            // PyTorch adds b_ih and b_hh to every pre-activation except GRU's n gate, where b_hn is multiplied by r.
            int summedRows = a.Cell == CellKind.Gru ? 2 * hidden : gateRows;
            var bias = (float[])biasIh.Clone();
            for (int j = 0; j < summedRows; j++) bias[j] += biasHh[j];
            float[] hiddenNewBias = a.Cell == CellKind.Gru ? biasHh.AsSpan(2 * hidden).ToArray() : Array.Empty<float>();
            layers[l] = new LayerWeights(Matrix(ModelArchitecture.WeightIhName(l)), Matrix(ModelArchitecture.WeightHhName(l)), bias, hiddenNewBias);
        }

        float[] embedding = a.IsOneHot ? Array.Empty<float>() : Values(ModelArchitecture.EmbeddingName);
        float[] inputTable = Array.Empty<float>();
        if (HasInputTable(a, maxInputTableFloats))
        {
            phaseStart = profile.Lap("decode_tensors", phaseStart);
            inputTable = BuildInputTable(a, embedding, layers[0]);
            phaseStart = profile.Lap("input_table", phaseStart);
            embedding = Array.Empty<float>();
            layers[0] = new LayerWeights(WeightRows.Empty, layers[0].HiddenWeights, layers[0].Bias, layers[0].HiddenNewBias);
        }
        var weights = new ModelWeights(a, embedding, inputTable, layers, Matrix(ModelArchitecture.HeadWeightName), Values(ModelArchitecture.HeadBiasName));
        profile.Lap("decode_tensors", phaseStart);
        return weights;
    }

    /// <summary>Whether a batched step of <paramref name="sessions"/> sessions in <paramref name="mode"/> reads lane panels: f32 weights on the 512- and 256-bit paths (AVX-512, AVX2).</summary>
    public bool UsesLanePanels(KernelMode mode, int sessions)
    {
#if NET8_0_OR_GREATER
        return HeadWeight.DType == TensorDType.F32 && LanePanelMatrixVector.Serves(mode, sessions);
#else
        return false;
#endif
    }

    /// <summary>Whether a batched step of <paramref name="sessions"/> sessions in <paramref name="mode"/> runs row-scaled q8's batched tiles (AVX2).</summary>
    public bool UsesBatchedQ8(KernelMode mode, int sessions)
    {
#if NET8_0_OR_GREATER
        return HeadWeight.RowScaledQuants && RowQ8MatrixVector.ServesBatch(mode, sessions);
#else
        return false;
#endif
    }

    /// <summary>
    /// Makes the <see cref="LanePanel"/> of every f32 matrix a batched step reads, once (later calls return at once):
    /// a second copy of those weights, as large as the first, that <see cref="Generation.GeneratorBatch"/> asks for
    /// where its kernels take the lane-panel tiles (f32 on AVX-512 and AVX2). Safe to call from several threads.
    /// </summary>
    public void PrepareLanePanels()
    {
        foreach (LayerWeights layer in Layers)
        {
            layer.InputWeights.PrepareLanePanel();
            layer.HiddenWeights.PrepareLanePanel();
        }
        HeadWeight.PrepareLanePanel();
    }

    /// <summary>
    /// Whether a model of architecture <paramref name="a"/> replaces layer 0's input product by a table of one row per
    /// token: always for one-hot input, else when the table holds at most <paramref name="maxInputTableFloats"/> floats.
    /// </summary>
    public static bool HasInputTable(ModelArchitecture a, int maxInputTableFloats)
        => a.IsOneHot || (long)a.VocabularySize * a.GateCount * a.HiddenSize <= maxInputTableFloats;

    /// <summary>
    /// Whether every matrix of <paramref name="file"/> that a step multiplies has rows of whole 32-column block pairs
    /// (<see cref="WeightRows.PairedHalves"/>); with an input table (<paramref name="inputTable"/>) layer 0's W_ih is only
    /// read to build it, on its own, so a one-hot input of any vocabulary does not matter.
    /// </summary>
    private static bool RowsArePairs(ModelFile file, bool inputTable)
    {
        ModelArchitecture a = file.Architecture;
        bool pairs = file.GetTensor(ModelArchitecture.HeadWeightName).Shape[1] % Float16.PairColumns == 0;
        for (int l = 0; l < a.Layers; l++)
        {
            if (l > 0 || !inputTable) pairs &= file.GetTensor(ModelArchitecture.WeightIhName(l)).Shape[1] % Float16.PairColumns == 0;
            pairs &= file.GetTensor(ModelArchitecture.WeightHhName(l)).Shape[1] % Float16.PairColumns == 0;
        }
        return pairs;
    }

    /// <summary>Whether <paramref name="file"/>'s matrices fit <see cref="WidenedF16MaxBytes"/> as f32.</summary>
    public static bool FitsWidened(ModelFile file)
    {
        ModelArchitecture a = file.Architecture;
        long floats = file.GetTensor(ModelArchitecture.HeadWeightName).ElementCount;
        for (int l = 0; l < a.Layers; l++) floats += file.GetTensor(ModelArchitecture.WeightIhName(l)).ElementCount + file.GetTensor(ModelArchitecture.WeightHhName(l)).ElementCount;
        return floats * sizeof(float) <= WidenedF16MaxBytes;
    }

    /// <summary>
    /// Row t = W_ih·x(t) + bias of layer 0, from W_ih in its file dtype (f16 and q8 weights decoded exactly as the
    /// kernels decode them, so the table equals what the per-step product would give). One-hot: x(t) picks column t
    /// of W_ih, so the table is W_ihᵀ plus the bias and is no larger than W_ih in f32. Embedding: computed with the
    /// strict kernels, so the table is the same on every machine and both kernel modes share it.
    /// </summary>
    private static float[] BuildInputTable(ModelArchitecture a, float[] embedding, LayerWeights first)
    {
        int vocabulary = a.VocabularySize;
        int gateRows = a.GateCount * a.HiddenSize;
        // Every element is written below. The size fits an int: the caller bounds an embedding's table, and a one-hot
        // table has W_ih's size, which the file's limit bounds.
        float[] table = UninitializedArray.Create<float>(checked(vocabulary * gateRows));
        if (a.IsOneHot)
        {
            for (int t = 0; t < vocabulary; t++)
            {
                for (int g = 0; g < gateRows; g++) table[(long)t * gateRows + g] = first.InputWeights[g, t] + first.Bias[g];
            }
            return table;
        }
        // Every token's embedding is a session of one batched product: the matrix is read once for all of them, not
        // once per token, and a batch gives each session the bits of its own product (the shipped model's table took
        // 1.2–1.8 ms per load as 65 products; docs/performance-history.md).
        BatchedMatrixVector.MultiplyPair(KernelMode.Best(strict: true), first.InputWeights, embedding, WeightRows.Empty, ReadOnlySpan<float>.Empty,
            first.Bias, biasStride: 0, table, yStride: gateRows, rows: gateRows, sessions: vocabulary);
        return table;
    }
}
