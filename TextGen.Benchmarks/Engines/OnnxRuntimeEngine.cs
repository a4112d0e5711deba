using Microsoft.ML.OnnxRuntime;
using TextGen.Runtime.Format;
using TextGen.Trainer.Export;

namespace TextGen.Benchmarks.Engines;

/// <summary>
/// ONNX Runtime running the trainer's ONNX step graph (<see cref="OnnxExporter"/>) in its best setup for generating
/// one character at a time: one intra-op thread (the Runtime is single-threaded too, and a batch of one has no
/// parallel work worth a thread hand-off), all graph optimizations, and every input and output bound once to
/// pinned managed arrays, so a step copies nothing and allocates nothing on the managed side.
/// <para>
/// The state outputs of one step are the state inputs of the next. Two state buffers take turns (ping-pong): step n
/// reads buffer n mod 2 and writes the other, with one I/O binding prepared for each direction. Each buffer holds
/// every layer's state one after another, and each layer's input and output is bound to its own slice.
/// </para>
/// </summary>
internal sealed class OnnxRuntimeEngine : IStepEngine
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly long[] _token = new long[1];         // (1, 1) the input token id
    private readonly float[] _logits;                     // (1, V) written by every step
    private readonly float[][] _hidden;                   // 2 × (layers, 1, H) ping-pong h buffers
    private readonly float[][] _cell;                     // 2 × (layers, 1, H) ping-pong LSTM c buffers; empty otherwise
    private readonly List<OrtValue> _values = [];         // every OrtValue over the arrays above, disposed with the engine
    private readonly OrtIoBinding[] _bindings = new OrtIoBinding[2]; // [p]: reads state buffer p, writes buffer 1 − p
    private int _current;                                 // the state buffer holding the current state

    /// <summary>Exports <paramref name="model"/> to ONNX in memory and opens it in ONNX Runtime on the CPU.</summary>
    public OnnxRuntimeEngine(ModelFile model)
        : this(OnnxExporter.ToBytes(model), model.Architecture)
    {
    }

    /// <summary>Opens <paramref name="onnx"/>, the step graph of a model of architecture <paramref name="a"/>, in ONNX Runtime on the CPU.</summary>
    public OnnxRuntimeEngine(byte[] onnx, ModelArchitecture a)
    {
        bool lstm = a.Cell == CellKind.Lstm;
        using (var options = new SessionOptions
        {
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        })
        {
            _session = new InferenceSession(onnx, options);
        }

        int stateLength = a.Layers * a.HiddenSize;
        _logits = new float[a.VocabularySize];
        _hidden = [new float[stateLength], new float[stateLength]];
        _cell = lstm ? [new float[stateLength], new float[stateLength]] : [[], []];

        OrtValue token = Pin<long>(_token, [1, 1]);
        OrtValue logits = Pin<float>(_logits, [1, a.VocabularySize]);
        for (int p = 0; p < 2; p++)
        {
            var binding = _session.CreateIoBinding();
            binding.BindInput(OnnxExporter.TokenInput, token);
            binding.BindOutput(OnnxExporter.LogitsOutput, logits);
            for (int l = 0; l < a.Layers; l++)
            {
                binding.BindInput(OnnxExporter.HiddenInput(l), PinLayer(_hidden[p], l, a.HiddenSize));
                binding.BindOutput(OnnxExporter.HiddenOutput(l), PinLayer(_hidden[1 - p], l, a.HiddenSize));
                if (!lstm) continue;
                binding.BindInput(OnnxExporter.CellInput(l), PinLayer(_cell[p], l, a.HiddenSize));
                binding.BindOutput(OnnxExporter.CellOutput(l), PinLayer(_cell[1 - p], l, a.HiddenSize));
            }
            _bindings[p] = binding;
        }
    }

    /// <summary>
    /// (layers × H) every layer's h after the last step, layer by layer; valid until the next step. Writing it sets
    /// the state the next step starts from.
    /// </summary>
    public Span<float> Hidden => _hidden[_current];

    /// <summary>(layers × H) every layer's LSTM c after the last step, writable like <see cref="Hidden"/>; empty for RNN and GRU models.</summary>
    public Span<float> Cell => _cell[_current];

    /// <summary>Feeds <paramref name="token"/> and returns the next character's logits; the span is valid until the next step.</summary>
    public ReadOnlySpan<float> Step(int token)
    {
        _token[0] = token;
        _session.RunWithBinding(_runOptions, _bindings[_current]);
        _current = 1 - _current;
        return _logits;
    }

    /// <summary>Back to the zero state, as a new engine starts.</summary>
    public void Reset()
    {
        _current = 0;
        Array.Clear(_hidden[0]);
        Array.Clear(_cell[0]);
    }

    /// <summary>Releases the session, the bindings and the pinned arrays.</summary>
    public void Dispose()
    {
        foreach (var binding in _bindings) binding.Dispose();
        foreach (var value in _values) value.Dispose();
        _runOptions.Dispose();
        _session.Dispose();
    }

    // An OrtValue over managed memory itself (the arrays above, or a slice): ONNX Runtime reads and writes it in place.
    private OrtValue Pin<T>(Memory<T> data, long[] shape) where T : unmanaged
    {
        var value = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, data, shape);
        _values.Add(value);
        return value;
    }

    // Layer `layer`'s [1, 1, hidden] slice of a state buffer.
    private OrtValue PinLayer(float[] states, int layer, int hidden) => Pin(new Memory<float>(states, layer * hidden, hidden), [1, 1, hidden]);
}
