namespace TextGen.Trainer.Training;

/// <summary>One finished optimizer step, for live progress.</summary>
/// <param name="Step">Steps taken.</param>
/// <param name="Loss">This step's training loss.</param>
/// <param name="Lr">This step's learning rate.</param>
/// <param name="BudgetFraction">Share of the session's budget used, 0 to 1.</param>
internal readonly record struct StepReport(long Step, double Loss, double Lr, double BudgetFraction);

/// <summary>Where a training run tells a person how it goes: a live progress bar, or plain log lines.</summary>
internal interface ITrainingReporter
{
    /// <summary>A step finished.</summary>
    void Stepped(StepReport report);

    /// <summary>A validation finished (the same record goes to metrics.jsonl).</summary>
    void Evaluated(EvaluationRecord record);

    /// <summary>Something worth a line of its own: a checkpoint, a rollback, the end.</summary>
    void Note(string message);
}
