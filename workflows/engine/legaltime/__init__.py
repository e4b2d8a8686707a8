"""Legal time: the injectable clock, calendar months, PRC working days and the stored holiday schedules."""
