using System.Runtime.InteropServices;
using TextGen.Trainer.Native;

namespace TextGen.Trainer.Cli;

/// <summary>
/// Ctrl+C and SIGTERM as a cancellation token: the first one stops training at the next step boundary with a
/// checkpoint; a second Ctrl+C ends the process at once. Create it on the thread that will train, before any tensor:
/// it keeps both signals off that thread and the libtorch threads it starts (<see cref="StopSignalMask"/>).
/// </summary>
internal sealed class StopSignals : IDisposable
{
    private readonly CancellationTokenSource _source = new();
    private readonly PosixSignalRegistration _terminate;

    /// <summary>Starts listening.</summary>
    public StopSignals()
    {
        Console.CancelKeyPress += OnCancelKeyPress;
        _terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            _source.Cancel();
        });
        // Last: registering started the runtime's signal thread, which must keep taking the signals this thread blocks.
        StopSignalMask.BlockOnThisThread();
    }

    /// <summary>Fires on the first signal.</summary>
    public CancellationToken Token => _source.Token;

    private void OnCancelKeyPress(object? sender, ConsoleCancelEventArgs e)
    {
        e.Cancel = !_source.IsCancellationRequested;
        _source.Cancel();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Console.CancelKeyPress -= OnCancelKeyPress;
        _terminate.Dispose();
        _source.Dispose();
    }
}
