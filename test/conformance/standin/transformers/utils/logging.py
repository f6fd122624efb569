"""`get_logger` returning standard loggers (to stderr) that also have transformers' `warning_once`."""
import logging as _logging


def get_logger(name=None) -> _logging.Logger:
    logger = _logging.getLogger(name or "transformers")
    if not hasattr(logger, "warning_once"):
        seen = set()

        def warning_once(message, *args, **kwargs):
            if message not in seen:
                seen.add(message)
                logger.warning(message, *args, **kwargs)

        logger.warning_once = warning_once
    return logger
