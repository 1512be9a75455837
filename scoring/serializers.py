from rest_framework import serializers

from leadsite.fields import TimestampField
from scoring.models import ScoringModel


class FactorSerializer(serializers.Serializer):
    feature = serializers.CharField(
        help_text="source, emailKind, emailTld, hasPhone, hasCompany, scoreBand, customFields.<key> or assignee."
    )
    value = serializers.CharField(
        help_text="The lead's value as the model knows it; '(other)' for a value seen fewer than 10 times, "
        "'(none)' for none."
    )
    effect = serializers.FloatField(help_text="What this value adds to the prediction, in log-odds.")


class OrganizationFactorSerializer(FactorSerializer):
    leads = serializers.IntegerField(help_text="Resolved leads with this value the model learned from.")


class PredictionSerializer(serializers.Serializer):
    probability = serializers.FloatField(help_text="The calibrated probability that the lead converts, 0 to 1.")
    predictedScore = serializers.IntegerField(min_value=0, max_value=100, help_text="The probability in percent.")
    baseline = serializers.FloatField(
        help_text="The model's intercept, in log-odds: baseline + the sum of every factor's effect = "
        "log(probability / (1 - probability)), exactly."
    )
    factors = FactorSerializer(many=True, help_text="Every feature's value for this lead, largest |effect| first.")
    modelVersion = serializers.IntegerField()
    trainedAt = TimestampField()


class CountsSerializer(serializers.Serializer):
    leads = serializers.IntegerField(help_text="Resolved (converted or unqualified) leads.")
    converted = serializers.IntegerField()
    unqualified = serializers.IntegerField()


class NeededSerializer(CountsSerializer):
    leads = serializers.IntegerField(help_text="More resolved leads needed (at least 200 in all).")
    converted = serializers.IntegerField(help_text="More converted leads needed (at least 20).")
    unqualified = serializers.IntegerField(help_text="More unqualified leads needed (at least 20).")


class CalibrationBinSerializer(serializers.Serializer):
    bin = serializers.CharField(help_text="The predicted probability's range, e.g. '30-40%'.")
    meanPredicted = serializers.FloatField(allow_null=True)
    observedRate = serializers.FloatField(allow_null=True, help_text="The share of these leads that converted.")
    count = serializers.IntegerField()


class QualitySerializer(serializers.Serializer):
    rocAuc = serializers.FloatField(
        allow_null=True, help_text="ROC AUC on the newest 20 % of resolved leads (null: one outcome only)."
    )
    brier = serializers.FloatField(allow_null=True, help_text="Brier score on the same leads (lower is better).")
    baselineBrier = serializers.FloatField(
        allow_null=True, help_text="The Brier score of always predicting the older leads' conversion rate."
    )
    calibration = CalibrationBinSerializer(many=True, help_text="10 bins of predicted probability.")
    heldOutLeads = serializers.IntegerField(help_text="The newest resolved leads it was measured on.")
    trainedOnLeads = serializers.IntegerField(help_text="The older ones the measured model was fitted on.")
    assigneeAucGain = serializers.FloatField(
        allow_null=True, help_text="What the assignee added to the held-out AUC (used from 0.01 on)."
    )
    assigneeUsed = serializers.BooleanField()


class ScoringModelSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=ScoringModel.Status.values,
        help_text="training: a training is queued or running (the other fields describe the model in use until it "
        "ends); ready: leads are scored by this model; insufficient_data: too few resolved leads (see needed), no "
        "lead has a predictedScore.",
    )
    version = serializers.IntegerField(allow_null=True, help_text="Increases with every training.")
    trainedAt = TimestampField(allow_null=True)
    format = serializers.IntegerField(allow_null=True)
    featureSet = serializers.CharField(allow_null=True)
    features = serializers.ListField(child=serializers.CharField())
    counts = CountsSerializer(allow_null=True, help_text="The resolved leads it learned from.")
    needed = NeededSerializer(allow_null=True, help_text="With insufficient_data: the counts still needed.")
    quality = QualitySerializer(allow_null=True, help_text="Measured on the newest 20 % of resolved leads.")
    topFactors = OrganizationFactorSerializer(many=True, help_text="The organization-wide strongest values.")
    trainingStartedAt = TimestampField(allow_null=True, help_text="With status training: when it was requested.")
    problem = serializers.CharField(
        allow_null=True, help_text="Why the stored model is not used (another format or feature set), if it is not."
    )
