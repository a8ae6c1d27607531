{#
  The period a slice of time is booked to: its shift occurrence (`calendar`, joined on the
  shift start; NULL out of every shift), else `unscheduled` on the local date of its UTC hour.
  Segments and count slots both date by it, so that int_machine_slice joins them on equal keys.
#}
{% macro shift_of(calendar, hour_start, timezone) -%}
    coalesce({{ calendar }}.shift_date, ({{ hour_start }} at time zone {{ timezone }})::date)
        as shift_date,
    coalesce({{ calendar }}.shift_name, 'unscheduled') as shift_name
{%- endmacro %}
