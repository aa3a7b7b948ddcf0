"""Model loads print errors only."""


def test_quiet_loading_hides_the_load_report_and_restores_the_settings():
    from transformers.utils import logging as hf_logging

    from alignrl.models.quiet_loading import quiet_loading

    before = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    with quiet_loading():
        assert hf_logging.get_verbosity() == hf_logging.ERROR and not hf_logging.is_progress_bar_enabled()
    assert (hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()) == before
