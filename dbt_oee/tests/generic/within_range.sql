{#
  Rows whose value lies outside [min_value, max_value] (either bound optional). NULL passes: a
  ratio over a zero denominator is NULL by contract. `tolerance` absorbs the rounding of sums of
  floating-point seconds, so an availability of 1 + 1e-15 is not reported as a fault.
#}
{% test within_range(model, column_name, min_value=none, max_value=none, tolerance=1e-9) %}
    select {{ column_name }}
    from {{ model }}
    where
        {%- if min_value is not none %}
            {{ column_name }} < {{ min_value }} - {{ tolerance }}
        {%- else %}
            false
        {%- endif %}
        {%- if max_value is not none %}
            or {{ column_name }} > {{ max_value }} + {{ tolerance }}
        {%- endif %}
{% endtest %}
