using System.Buffers.Binary;
using TextGen.Runtime.Format;

namespace TextGen.Tests.Cells;

/// <summary>
/// PyTorch's nn.Embedding → nn.RNN/GRU/LSTM → nn.Linear written out plainly in double precision, straight from the
/// file's tensors, sharing no code with the runtime: the yardstick for the forward-pass parity tests.
/// </summary>
internal sealed class ReferenceModel
{
    private readonly ModelArchitecture _a;
    private readonly Dictionary<string, double[]> _tensors;
    private readonly double[][] _h;
    private readonly double[][] _c;

    public ReferenceModel(ModelFile file)
    {
        _a = file.Architecture;
        _tensors = file.Tensors.ToDictionary(t => t.Name, Decode);
        _h = Enumerable.Range(0, _a.Layers).Select(_ => new double[_a.HiddenSize]).ToArray();
        _c = Enumerable.Range(0, _a.Layers).Select(_ => new double[_a.HiddenSize]).ToArray();
    }

    /// <summary>head(h of the last layer).</summary>
    public double[] Logits()
    {
        int hidden = _a.HiddenSize;
        double[] w = _tensors[ModelArchitecture.HeadWeightName], b = _tensors[ModelArchitecture.HeadBiasName];
        var logits = new double[_a.VocabularySize];
        for (int v = 0; v < logits.Length; v++)
        {
            logits[v] = b[v];
            for (int j = 0; j < hidden; j++) logits[v] += w[v * hidden + j] * _h[_a.Layers - 1][j];
        }
        return logits;
    }

    public void Step(int token)
    {
        int hidden = _a.HiddenSize;
        double[] x;
        if (_a.IsOneHot)
        {
            x = new double[_a.VocabularySize];
            x[token] = 1;
        }
        else
        {
            x = _tensors[ModelArchitecture.EmbeddingName].Skip(token * _a.EmbeddingSize).Take(_a.EmbeddingSize).ToArray();
        }
        for (int l = 0; l < _a.Layers; l++)
        {
            double[] gi = Affine(_tensors[ModelArchitecture.WeightIhName(l)], x, _tensors[ModelArchitecture.BiasIhName(l)]);
            double[] gh = Affine(_tensors[ModelArchitecture.WeightHhName(l)], _h[l], _tensors[ModelArchitecture.BiasHhName(l)]);
            double[] h = _h[l], c = _c[l];
            for (int j = 0; j < hidden; j++)
            {
                switch (_a.Cell)
                {
                    case CellKind.Rnn:
                        h[j] = Math.Tanh(gi[j] + gh[j]);
                        break;
                    case CellKind.Gru:
                        double r = Sigmoid(gi[j] + gh[j]);
                        double z = Sigmoid(gi[hidden + j] + gh[hidden + j]);
                        double n = Math.Tanh(gi[2 * hidden + j] + r * gh[2 * hidden + j]);
                        h[j] = (1 - z) * n + z * h[j];
                        break;
                    default:
                        double i = Sigmoid(gi[j] + gh[j]);
                        double f = Sigmoid(gi[hidden + j] + gh[hidden + j]);
                        double g = Math.Tanh(gi[2 * hidden + j] + gh[2 * hidden + j]);
                        double o = Sigmoid(gi[3 * hidden + j] + gh[3 * hidden + j]);
                        c[j] = f * c[j] + i * g;
                        h[j] = o * Math.Tanh(c[j]);
                        break;
                }
            }
            x = h;
        }
    }

    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    /// <summary>W·x + b with W of shape (b.Length, x.Length).</summary>
    private static double[] Affine(double[] w, double[] x, double[] b)
    {
        var y = new double[b.Length];
        for (int r = 0; r < y.Length; r++)
        {
            y[r] = b[r];
            for (int j = 0; j < x.Length; j++) y[r] += w[r * x.Length + j] * x[j];
        }
        return y;
    }

    private static double[] Decode(ModelTensor t)
    {
        ReadOnlySpan<byte> bytes = t.Data.Span;
        var values = new double[bytes.Length / 4];
        for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.Slice(i * 4));
        return values;
    }
}
